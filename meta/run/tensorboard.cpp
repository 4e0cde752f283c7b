#include "meta/run/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>

namespace metarl::meta {
namespace {

// CRC-32C, one table lookup per byte instead of eight shift-and-xor steps; the 1 KiB
// table is built at compile time from the reflected polynomial.
struct Crc32cTable {
  std::uint32_t entries[256] = {};
  constexpr Crc32cTable() {
    for (std::uint32_t byte = 0; byte < 256; ++byte) {
      std::uint32_t crc = byte;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
      entries[byte] = crc;
    }
  }
};
constexpr Crc32cTable kCrc32cTable;

// The protobuf wire format, the little of it an Event needs: each field is a varint key
// (field number << 3 | wire type) followed by its value. Hand-written because protobuf
// is not a dependency of the project (see tensorboard.h); field numbers are those of
// tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto.
enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };
constexpr std::uint32_t kEventWallTime = 1;     // double
constexpr std::uint32_t kEventStep = 2;         // int64
constexpr std::uint32_t kEventFileVersion = 3;  // string
constexpr std::uint32_t kEventSummary = 5;      // Summary
constexpr std::uint32_t kSummaryValue = 1;      // repeated Summary.Value
constexpr std::uint32_t kValueTag = 1;          // string
constexpr std::uint32_t kValueSimpleValue = 2;  // float

void put_varint(std::string& out, std::uint64_t value) {
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>((value & 0x7f) | 0x80));
  out.push_back(static_cast<char>(value));
}
void put_little_endian(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
void put_key(std::string& out, std::uint32_t field, WireType type) { put_varint(out, (field << 3) | type); }

void put_double(std::string& out, std::uint32_t field, double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed64);
  put_little_endian(out, bits, 8);
}
void put_float(std::string& out, std::uint32_t field, float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed32);
  put_little_endian(out, bits, 4);
}
// int64 as protobuf encodes it: a negative step takes ten bytes (two's complement).
void put_int64(std::string& out, std::uint32_t field, std::int64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<std::uint64_t>(value));
}
void put_bytes(std::string& out, std::uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

// A double beyond float's range becomes an infinity of its sign; the plain conversion
// would be undefined behaviour (and is reported by UBSan's float-cast-overflow).
float to_float(double value) {
  constexpr float kInfinity = std::numeric_limits<float>::infinity();
  if (std::isfinite(value) && std::fabs(value) > std::numeric_limits<float>::max())
    return std::signbit(value) ? -kInfinity : kInfinity;
  return static_cast<float>(value);
}

std::runtime_error file_error(const std::string& what, const std::string& path, int error) {
  return std::runtime_error("tensorboard: cannot " + what + " " + path + ": " + std::strerror(error));
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) crc = (crc >> 8) ^ kCrc32cTable.entries[(crc ^ bytes[i]) & 0xff];
  return crc ^ 0xFFFFFFFFu;
}

std::uint32_t masked_crc32c(const void* data, std::size_t size) {
  const std::uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw file_error("create directory", directory, error.value());

  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  const double wall_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // O_EXCL: an existing file is never appended to nor overwritten. When the name is
  // taken (a second writer in the same process and second), the next second is tried
  // rather than a suffix: TensorBoard's directory loader reads files in name order and
  // does not go back to a name it has passed, so a newer file must sort after the older.
  const auto first_second = static_cast<long long>(wall_time);
  int fd = -1;
  for (long long attempt = 0; fd < 0; ++attempt) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%010lld", first_second + attempt);
    path_ = (std::filesystem::path(directory) / ("events.out.tfevents." + std::string(seconds) + "." + host + "." +
                                                 std::to_string(getpid()) + ".metarl"))
                .string();
    fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    const int open_error = errno;
    if (fd < 0 && (open_error != EEXIST || attempt == 1000)) throw file_error("create", path_, open_error);
  }
  file_ = ::fdopen(fd, "ab");
  if (file_ == nullptr) {
    const int open_error = errno;
    ::close(fd);
    throw file_error("open", path_, open_error);
  }

  std::string event;
  put_double(event, kEventWallTime, wall_time);
  put_bytes(event, kEventFileVersion, "brain.Event:2");
  try {
    write_record(event);
    flush();  // a write error shows now, not at the first scalar
  } catch (...) {
    std::fclose(file_);  // no destructor runs for a constructor that throws
    throw;
  }
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, std::int64_t step, double wall_time_seconds) {
  add_scalars({{tag, value}}, step, wall_time_seconds);
}

void TensorBoardWriter::add_scalars(const std::vector<std::pair<std::string, double>>& values, std::int64_t step,
                                    double wall_time_seconds) {
  std::string summary;
  for (const auto& [tag, value] : values) {
    std::string entry;
    put_bytes(entry, kValueTag, tag);
    put_float(entry, kValueSimpleValue, to_float(value));
    put_bytes(summary, kSummaryValue, entry);
  }
  std::string event;
  put_double(event, kEventWallTime, wall_time_seconds);
  put_int64(event, kEventStep, step);
  put_bytes(event, kEventSummary, summary);
  write_record(event);
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_) != 0) throw file_error("write", path_, errno);
}

// TFRecord framing: uint64 length, masked CRC of those 8 bytes, the data, masked CRC
// of the data; integers little-endian. One fwrite per record, so a record is whole in
// the buffer before any of it reaches the file.
void TensorBoardWriter::write_record(const std::string& event) {
  std::string record;
  record.reserve(event.size() + 16);
  put_little_endian(record, event.size(), 8);
  put_little_endian(record, masked_crc32c(record.data(), 8), 4);
  record += event;
  put_little_endian(record, masked_crc32c(event.data(), event.size()), 4);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) throw file_error("write", path_, errno);
}

}  // namespace metarl::meta
