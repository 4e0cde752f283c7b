// TensorBoard event files (meta/run/tensorboard.h), read back by a decoder written here
// from the formats' specifications (TFRecord framing, the protobuf wire format,
// tensorflow's event.proto and summary.proto). It shares no code with the writer: its
// CRC-32C goes bit by bit where the writer's uses a table, and it parses protobuf
// fields generically where the writer emits fixed messages. When python3 can import
// tensorboard, TensorBoard's own EventAccumulator reads the files too.

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "meta/run/tensorboard.h"

namespace metarl::meta {
namespace {

namespace fs = std::filesystem;

// ---- The reference decoder ------------------------------------------------------

// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor
// 0xFFFFFFFF, one bit at a time.
std::uint32_t bitwise_crc32c(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

// TFRecord's mask: rotate right by 15 bits, add a constant.
std::uint32_t tfrecord_mask(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

std::uint64_t little_endian(const std::string& bytes, std::size_t offset, int width) {
  std::uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes.at(offset + i));
  return value;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("decoder: cannot read " + path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The data of each TFRecord: uint64 length, uint32 masked CRC of the length's 8 bytes,
// the data, uint32 masked CRC of the data. Both CRCs are checked, and the file must end
// exactly after its last record.
std::vector<std::string> read_records(const std::string& file) {
  std::vector<std::string> records;
  std::size_t offset = 0;
  while (offset < file.size()) {
    if (file.size() - offset < 12) throw std::runtime_error("decoder: truncated record header");
    const std::uint64_t length = little_endian(file, offset, 8);
    if (little_endian(file, offset + 8, 4) != tfrecord_mask(bitwise_crc32c(file.substr(offset, 8))))
      throw std::runtime_error("decoder: length CRC mismatch in record " + std::to_string(records.size()));
    if (file.size() - offset - 12 < length + 4) throw std::runtime_error("decoder: truncated record data");
    std::string data = file.substr(offset + 12, length);
    if (little_endian(file, offset + 12 + length, 4) != tfrecord_mask(bitwise_crc32c(data)))
      throw std::runtime_error("decoder: data CRC mismatch in record " + std::to_string(records.size()));
    records.push_back(std::move(data));
    offset += 12 + length + 4;
  }
  return records;
}

// Protobuf wire format: a varint key (field number << 3 | wire type), then a varint
// (type 0), 8 little-endian bytes (1), a varint length and that many bytes (2), or 4
// little-endian bytes (5).
struct ProtoField {
  std::uint64_t number = 0;
  int wire_type = -1;
  std::uint64_t integer = 0;  // types 0, 1, 5
  std::string bytes;          // type 2
};

std::vector<ProtoField> parse_fields(const std::string& message) {
  std::size_t offset = 0;
  auto varint = [&]() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (offset >= message.size()) throw std::runtime_error("decoder: truncated varint");
      const auto byte = static_cast<unsigned char>(message[offset++]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw std::runtime_error("decoder: varint longer than 10 bytes");
  };
  std::vector<ProtoField> fields;
  while (offset < message.size()) {
    ProtoField field;
    const std::uint64_t key = varint();
    field.number = key >> 3;
    field.wire_type = static_cast<int>(key & 7);
    if (field.wire_type == 0) {
      field.integer = varint();
    } else if (field.wire_type == 1 || field.wire_type == 5) {
      const int width = field.wire_type == 1 ? 8 : 4;
      if (message.size() - offset < static_cast<std::size_t>(width)) throw std::runtime_error("decoder: truncated fixed");
      field.integer = little_endian(message, offset, width);
      offset += width;
    } else if (field.wire_type == 2) {
      const std::uint64_t length = varint();
      if (message.size() - offset < length) throw std::runtime_error("decoder: truncated bytes field");
      field.bytes = message.substr(offset, length);
      offset += length;
    } else {
      throw std::runtime_error("decoder: unexpected wire type " + std::to_string(field.wire_type));
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

void expect_wire_type(const ProtoField& field, int wire_type, const char* name) {
  if (field.wire_type != wire_type)
    throw std::runtime_error(std::string("decoder: ") + name + " has wire type " + std::to_string(field.wire_type));
}

struct DecodedValue {
  std::string tag;
  float simple_value = 0;
};

// tensorflow.Event: wall_time = 1 (double), step = 2 (int64), file_version = 3
// (string), summary = 5 (Summary: value = 1, repeated Summary.Value: tag = 1 (string),
// simple_value = 2 (float)). Any other field is an error: the writer has no reason to
// write one.
struct DecodedEvent {
  std::optional<double> wall_time;
  std::optional<std::int64_t> step;
  std::optional<std::string> file_version;
  bool has_summary = false;
  std::vector<DecodedValue> values;
};

DecodedValue decode_value(const std::string& message) {
  DecodedValue value;
  bool has_tag = false, has_simple_value = false;
  for (const ProtoField& field : parse_fields(message)) {
    if (field.number == 1) {
      expect_wire_type(field, 2, "Summary.Value.tag");
      value.tag = field.bytes;
      has_tag = true;
    } else if (field.number == 2) {
      expect_wire_type(field, 5, "Summary.Value.simple_value");
      const auto bits = static_cast<std::uint32_t>(field.integer);
      std::memcpy(&value.simple_value, &bits, sizeof bits);
      has_simple_value = true;
    } else {
      throw std::runtime_error("decoder: unexpected Summary.Value field " + std::to_string(field.number));
    }
  }
  if (!has_tag || !has_simple_value) throw std::runtime_error("decoder: Summary.Value without tag or simple_value");
  return value;
}

DecodedEvent decode_event(const std::string& message) {
  DecodedEvent event;
  for (const ProtoField& field : parse_fields(message)) {
    if (field.number == 1) {
      expect_wire_type(field, 1, "Event.wall_time");
      double wall_time = 0;
      std::memcpy(&wall_time, &field.integer, sizeof wall_time);
      event.wall_time = wall_time;
    } else if (field.number == 2) {
      expect_wire_type(field, 0, "Event.step");
      event.step = static_cast<std::int64_t>(field.integer);
    } else if (field.number == 3) {
      expect_wire_type(field, 2, "Event.file_version");
      event.file_version = field.bytes;
    } else if (field.number == 5) {
      expect_wire_type(field, 2, "Event.summary");
      event.has_summary = true;
      for (const ProtoField& value : parse_fields(field.bytes)) {
        if (value.number != 1) throw std::runtime_error("decoder: unexpected Summary field");
        expect_wire_type(value, 2, "Summary.value");
        event.values.push_back(decode_value(value.bytes));
      }
    } else {
      throw std::runtime_error("decoder: unexpected Event field " + std::to_string(field.number));
    }
  }
  return event;
}

std::vector<DecodedEvent> decode_file(const fs::path& path) {
  std::vector<DecodedEvent> events;
  for (const std::string& record : read_records(read_file(path))) events.push_back(decode_event(record));
  return events;
}

// ---- Helpers ----------------------------------------------------------------------

std::string host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<fs::path> files_in(const fs::path& directory) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(directory)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Same bits: 0.1f == 0.1f, NaN == NaN, and -0 != +0.
void expect_same_float(float actual, float expected) {
  std::uint32_t actual_bits = 0, expected_bits = 0;
  std::memcpy(&actual_bits, &actual, 4);
  std::memcpy(&expected_bits, &expected, 4);
  EXPECT_EQ(actual_bits, expected_bits) << actual << " vs " << expected;
}

class TensorBoardFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "metarl_tensorboard_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern << ": " << std::strerror(errno);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  fs::path root_;
};

// ---- CRC-32C ----------------------------------------------------------------------

TEST(Crc32c, KnownVectors) {
  // The check value of CRC-32C, and the vectors of RFC 3720 (iSCSI), appendix B.4.
  const std::string check = "123456789";
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  const std::vector<std::pair<std::string, std::uint32_t>> vectors = {
      {check, 0xE3069283u},
      {std::string(32, '\0'), 0x8A9136AAu},
      {std::string(32, '\xff'), 0x62A8AB43u},
      {ascending, 0x46DD794Eu},
      {descending, 0x113FDB5Cu},
      {"", 0u},
  };
  for (const auto& [bytes, expected] : vectors) {
    EXPECT_EQ(crc32c(bytes.data(), bytes.size()), expected) << bytes.size() << " bytes";
    EXPECT_EQ(bitwise_crc32c(bytes), expected) << "the test's decoder, " << bytes.size() << " bytes";
    EXPECT_EQ(masked_crc32c(bytes.data(), bytes.size()), tfrecord_mask(expected));
  }
  EXPECT_EQ(masked_crc32c("", 0), 0xa282ead8u);
}

TEST(Crc32c, TableAgreesWithBitwiseAtEveryLength) {
  std::string bytes;
  std::uint32_t state = 12345;
  for (int length = 0; length <= 300; ++length) {
    EXPECT_EQ(crc32c(bytes.data(), bytes.size()), bitwise_crc32c(bytes)) << length << " bytes";
    state = state * 1664525u + 1013904223u;
    bytes.push_back(static_cast<char>(state >> 24));
  }
}

// ---- Event files --------------------------------------------------------------------

TEST_F(TensorBoardFiles, NameAndFirstEvent) {
  const double before = now_seconds();
  TensorBoardWriter writer((root_ / "run").string());
  const double after = now_seconds();

  const fs::path path = writer.path();
  EXPECT_EQ(path.parent_path(), root_ / "run");
  EXPECT_EQ(files_in(root_ / "run"), std::vector<fs::path>{path});
  const std::string name = path.filename().string();
  const std::string prefix = "events.out.tfevents.";
  const std::string suffix = "." + host_name() + "." + std::to_string(getpid()) + ".metarl";
  ASSERT_EQ(name.size(), prefix.size() + 10 + suffix.size()) << name;
  EXPECT_EQ(name.substr(0, prefix.size()), prefix) << name;
  EXPECT_EQ(name.substr(prefix.size() + 10), suffix) << name;
  const std::string seconds = name.substr(prefix.size(), 10);
  EXPECT_EQ(seconds.find_first_not_of("0123456789"), std::string::npos) << name;
  EXPECT_GE(std::stoll(seconds), static_cast<long long>(before));

  // The first record is written and flushed by the constructor.
  const auto events = decode_file(path);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].file_version.has_value());
  EXPECT_EQ(*events[0].file_version, "brain.Event:2");
  ASSERT_TRUE(events[0].wall_time.has_value());
  EXPECT_GE(*events[0].wall_time, std::floor(before));
  EXPECT_LE(*events[0].wall_time, after + 1);
  EXPECT_FALSE(events[0].has_summary);
}

TEST_F(TensorBoardFiles, ScalarsDecodeExactly) {
  struct Scalar {
    std::string tag;
    double value;
    std::int64_t step;
    double wall_time;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Scalar> scalars = {
      {"loss", 0.1, 0, 1700000000.123456},
      {"return/mean", -12.125, 1, 1700000001.5},
      {"return/mean", 3.0e38, 300, 1700000002.0},                    // step: a two-byte varint
      {std::string(200, 't'), 1.0e300, std::int64_t{1} << 40, 0.0},  // tag: a two-byte length; value: past float's range
      {"nan", nan, -1, 1.0},                                        // step: a ten-byte varint
      {"inf", -inf, std::numeric_limits<std::int64_t>::max(), 2.0},
      {"", -0.0, std::numeric_limits<std::int64_t>::min(), -3.5},
  };
  const std::vector<float> expected_floats = {0.1f,
                                              -12.125f,
                                              3.0e38f,
                                              std::numeric_limits<float>::infinity(),
                                              std::numeric_limits<float>::quiet_NaN(),
                                              -std::numeric_limits<float>::infinity(),
                                              -0.0f};

  auto check = [&](const fs::path& path) {
    const auto events = decode_file(path);
    ASSERT_EQ(events.size(), scalars.size() + 1);
    EXPECT_EQ(events[0].file_version, "brain.Event:2");
    for (std::size_t i = 0; i < scalars.size(); ++i) {
      SCOPED_TRACE("scalar " + std::to_string(i));
      const DecodedEvent& event = events[i + 1];
      EXPECT_EQ(event.wall_time, scalars[i].wall_time);
      EXPECT_EQ(event.step, scalars[i].step);
      EXPECT_FALSE(event.file_version.has_value());
      ASSERT_EQ(event.values.size(), 1u);
      EXPECT_EQ(event.values[0].tag, scalars[i].tag);
      expect_same_float(event.values[0].simple_value, expected_floats[i]);
    }
  };

  fs::path path;
  {
    TensorBoardWriter writer(root_.string());
    path = writer.path();
    for (const Scalar& scalar : scalars) writer.add_scalar(scalar.tag, scalar.value, scalar.step, scalar.wall_time);
    writer.flush();
    check(path);  // readable while the writer is open
  }
  check(path);  // and the same after it closed
}

TEST_F(TensorBoardFiles, MultipleValuesInOneEvent) {
  fs::path path;
  {
    TensorBoardWriter writer(root_.string());
    path = writer.path();
    writer.add_scalars({{"meta/loss", 0.5}, {"meta/kl", 0.0078125}, {"return/mean", -250.75}}, 42, 1700000123.25);
    writer.add_scalars({{"meta/loss", 0.25}}, 43, 1700000124.0);
  }
  const auto events = decode_file(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].step, 42);
  EXPECT_EQ(events[1].wall_time, 1700000123.25);
  ASSERT_EQ(events[1].values.size(), 3u);
  EXPECT_EQ(events[1].values[0].tag, "meta/loss");
  EXPECT_EQ(events[1].values[1].tag, "meta/kl");
  EXPECT_EQ(events[1].values[2].tag, "return/mean");
  expect_same_float(events[1].values[0].simple_value, 0.5f);
  expect_same_float(events[1].values[1].simple_value, 0.0078125f);
  expect_same_float(events[1].values[2].simple_value, -250.75f);
  EXPECT_EQ(events[2].step, 43);
  ASSERT_EQ(events[2].values.size(), 1u);
  expect_same_float(events[2].values[0].simple_value, 0.25f);
}

TEST_F(TensorBoardFiles, TwoWritersNeverShareAFile) {
  // Same directory, process and (almost surely) second: the names would be equal.
  TensorBoardWriter first(root_.string());
  TensorBoardWriter second(root_.string());
  TensorBoardWriter third(root_.string());
  EXPECT_NE(first.path(), second.path());
  EXPECT_NE(second.path(), third.path());
  // Newer files sort after older ones: TensorBoard reads a directory in name order.
  EXPECT_LT(first.path(), second.path());
  EXPECT_LT(second.path(), third.path());
  first.add_scalar("first", 1, 1, 10);
  second.add_scalar("second", 2, 2, 20);
  third.add_scalar("third", 3, 3, 30);
  first.flush();
  second.flush();
  third.flush();
  EXPECT_EQ(files_in(root_).size(), 3u);
  const std::vector<std::pair<std::string, std::string>> owners = {
      {first.path(), "first"}, {second.path(), "second"}, {third.path(), "third"}};
  for (const auto& [path, tag] : owners) {
    const auto events = decode_file(path);
    ASSERT_EQ(events.size(), 2u) << path;
    EXPECT_EQ(events[0].file_version, "brain.Event:2");
    ASSERT_EQ(events[1].values.size(), 1u);
    EXPECT_EQ(events[1].values[0].tag, tag);
  }
}

TEST_F(TensorBoardFiles, ExistingFilesAreLeftAlone) {
  // Files under the names a writer would pick now and in the next seconds.
  const auto now = static_cast<long long>(now_seconds());
  std::vector<fs::path> existing;
  for (long long second = now; second < now + 3; ++second) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "%010lld", second);
    existing.push_back(root_ / ("events.out.tfevents." + std::string(digits) + "." + host_name() + "." +
                                std::to_string(getpid()) + ".metarl"));
    std::ofstream(existing.back()) << "someone else's";
  }
  TensorBoardWriter writer(root_.string());
  writer.add_scalar("mine", 1, 1, 1);
  writer.flush();
  for (const fs::path& path : existing) {
    EXPECT_NE(writer.path(), path.string());
    EXPECT_EQ(read_file(path), "someone else's") << path;
  }
  EXPECT_EQ(decode_file(writer.path()).size(), 2u);
}

TEST_F(TensorBoardFiles, CreatesMissingDirectories) {
  const fs::path nested = root_ / "a" / "b" / "c";
  TensorBoardWriter writer(nested.string());
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_EQ(fs::path(writer.path()).parent_path(), nested);
}

TEST_F(TensorBoardFiles, UncreatableDirectoryThrowsNamingThePath) {
  // A regular file where a parent directory should be (root could write anywhere, so
  // permissions would not do).
  std::ofstream(root_ / "blocker") << "a file";
  const std::string directory = (root_ / "blocker" / "run").string();
  try {
    TensorBoardWriter writer(directory);
    FAIL() << "no error for " << directory;
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(directory), std::string::npos) << message;
    EXPECT_NE(message.find(std::strerror(ENOTDIR)), std::string::npos) << message;
  }
}

TEST_F(TensorBoardFiles, DecoderRejectsACorruptedRecord) {
  // The CRC checks above would pass vacuously if the decoder never compared anything.
  fs::path path;
  {
    TensorBoardWriter writer(root_.string());
    path = writer.path();
    writer.add_scalar("loss", 1.5, 7, 8);
  }
  const std::string bytes = read_file(path);
  ASSERT_NO_THROW(read_records(bytes));
  for (const std::size_t position : {std::size_t{0}, std::size_t{9}, std::size_t{14}, bytes.size() - 1}) {
    std::string corrupted = bytes;
    corrupted[position] = static_cast<char>(corrupted[position] ^ 0x01);
    EXPECT_THROW(read_records(corrupted), std::runtime_error) << "byte " << position;
  }
}

// TensorBoard itself, when its Python package is importable (pip install tensorboard).
TEST_F(TensorBoardFiles, TensorBoardReadsTheScalars) {
  if (std::system("python3 -c 'import tensorboard' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 cannot import tensorboard: TensorBoard's own reader not checked";

  const fs::path run = root_ / "run";
  {
    TensorBoardWriter writer(run.string());
    writer.add_scalar("loss", 0.25, 1, 1700000000.5);
    writer.add_scalars({{"loss", -1.5}, {"return/mean", 1024}}, 2, 1700000001.5);
    writer.add_scalar("return/mean", 0.1, 3, 1700000002.5);
  }
  const fs::path script = root_ / "read_scalars.py";
  std::ofstream(script) << "import sys\n"
                           "from tensorboard.backend.event_processing import event_accumulator\n"
                           "accumulator = event_accumulator.EventAccumulator(sys.argv[1])\n"
                           "accumulator.Reload()\n"
                           "for tag in sorted(accumulator.Tags()['scalars']):\n"
                           "    for event in accumulator.Scalars(tag):\n"
                           "        print(tag, event.step, repr(event.value), repr(event.wall_time))\n";
  const std::string command = "python3 '" + script.string() + "' '" + run.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr) << command;
  std::string output;
  char buffer[4096];
  for (std::size_t read; (read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, read);
  ASSERT_EQ(pclose(pipe), 0) << command << "\n" << output;

  struct Expected {
    std::string tag;
    std::int64_t step;
    float value;
    double wall_time;
  };
  const std::vector<Expected> expected = {{"loss", 1, 0.25f, 1700000000.5},
                                          {"loss", 2, -1.5f, 1700000001.5},
                                          {"return/mean", 2, 1024.0f, 1700000001.5},
                                          {"return/mean", 3, 0.1f, 1700000002.5}};
  std::istringstream lines(output);
  for (const Expected& scalar : expected) {
    std::string tag, value, wall_time;
    std::int64_t step = 0;
    ASSERT_TRUE(lines >> tag >> step >> value >> wall_time) << output;
    EXPECT_EQ(tag, scalar.tag);
    EXPECT_EQ(step, scalar.step);
    // Python's float holds the float32 exactly; repr() round-trips it.
    EXPECT_EQ(std::strtod(value.c_str(), nullptr), static_cast<double>(scalar.value)) << value;
    EXPECT_EQ(std::strtod(wall_time.c_str(), nullptr), scalar.wall_time) << wall_time;
  }
  std::string rest;
  EXPECT_FALSE(lines >> rest) << "more scalars than written:\n" << output;
}

}  // namespace
}  // namespace metarl::meta
