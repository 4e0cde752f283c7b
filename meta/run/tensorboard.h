#pragma once
// TensorBoard event files, written without TensorFlow, protobuf or torch. An event
// file is a sequence of TFRecords, each holding one serialized tensorflow.Event
// protobuf; `tensorboard --logdir <directory>` reads them as they grow. The few
// messages needed (Event, Summary, Summary.Value) are encoded by hand in
// tensorboard.cpp: protobuf itself is not among the Debian packages the project
// builds against, and a scalar log does not justify adding it.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace metarl::meta {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord framing uses.
std::uint32_t crc32c(const void* data, std::size_t size);
// TFRecord's masked form of crc32c: ((crc >> 15) | (crc << 17)) + 0xa282ead8, so that
// a CRC stored in the data it covers does not checksum to a fixed point.
std::uint32_t masked_crc32c(const void* data, std::size_t size);

// One event file in `directory`, opened on construction and never shared: a second
// writer in the same directory, process and second gets a file of its own.
class TensorBoardWriter {
 public:
  // Creates `directory` if needed, then events.out.tfevents.<unix seconds, 10
  // digits>.<hostname>.<pid>.metarl in it, and writes the file_version event
  // TensorBoard expects first. Throws std::runtime_error naming the path.
  explicit TensorBoardWriter(const std::string& directory);
  ~TensorBoardWriter();  // flushes and closes; errors there are lost: call flush() to see them
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One scalar at `step`. The value is stored as a float (Summary.Value.simple_value);
  // NaN and infinities are written as they are. wall_time_seconds: Unix time.
  void add_scalar(const std::string& tag, double value, std::int64_t step, double wall_time_seconds);
  // Several scalars of the same step, in one event.
  void add_scalars(const std::vector<std::pair<std::string, double>>& values, std::int64_t step,
                   double wall_time_seconds);
  // Hands buffered records to the operating system, where TensorBoard can read them.
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);

  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace metarl::meta
