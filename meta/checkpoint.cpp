#include "meta/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "envs/errors.h"

namespace metarl::meta {

namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0 && !directory) throw std::runtime_error("fsync '" + path + "' failed: " + std::strerror(errno));
}

std::string parent_directory(const std::string& path) {
  const auto parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// The checkpoint container: magic, version, payload length, payload checksum.
constexpr char kContainerMagic[8] = {'M', 'E', 'T', 'A', 'R', 'L', 'C', 'K'};
constexpr std::uint64_t kContainerVersion = 1;
constexpr size_t kContainerHeaderBytes = 8 + 3 * sizeof(std::uint64_t);

void append_u64(std::string& out, std::uint64_t value) {
  for (int byte = 0; byte < 8; ++byte) out.push_back(static_cast<char>((value >> (8 * byte)) & 0xFF));  // little-endian
}

std::uint64_t read_u64(const char* in) {
  std::uint64_t value = 0;
  for (int byte = 0; byte < 8; ++byte) value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[byte])) << (8 * byte);
  return value;
}

}  // namespace

std::uint64_t fnv1a64(const void* data, size_t size, std::uint64_t hash) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001B3ULL;
  }
  return hash;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  // The temporary sits in the same directory, so rename() stays on one file system.
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  try {
    // POSIX calls rather than a stream: a full disk or a read-only directory is then
    // reported with its reason (errno), not as a bare "cannot write".
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot write '" + temporary + "': " + std::strerror(errno));
    size_t written = 0;
    while (written < contents.size()) {
      const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n < 0 ? std::strerror(errno) : "nothing written";
        ::close(fd);
        throw std::runtime_error("cannot write '" + temporary + "': " + why);
      }
      written += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw std::runtime_error("fsync '" + temporary + "' failed: " + why);
    }
    if (::close(fd) != 0) throw std::runtime_error("cannot write '" + temporary + "': " + std::strerror(errno));
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      throw std::runtime_error("cannot rename '" + temporary + "' to '" + path + "': " + std::strerror(errno));
    }
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
  fsync_path(parent_directory(path), true);
}

void load_parameters(const CheckpointData& data, const std::string& path, MetaLearner& learner) {
  auto incompatible = [&](const std::string& why) {
    return UsageError("checkpoint '" + path + "' is incompatible: " + why);
  };
  const std::string architecture = learner.policy().architecture();
  if (data.architecture != architecture) {
    throw incompatible("it holds a '" + data.architecture + "' policy, the config builds '" + architecture + "'");
  }
  if (data.theta.size() != learner.theta().size() || data.alpha.size() != learner.alpha().size()) {
    throw incompatible(std::to_string(data.theta.size()) + " parameter tensors, the policy has " +
                       std::to_string(learner.theta().size()));
  }
  for (size_t i = 0; i < data.theta.size(); ++i) {
    if (data.theta[i].sizes() != learner.theta()[i].sizes() || data.alpha[i].sizes() != learner.alpha()[i].sizes()) {
      throw incompatible("parameter " + std::to_string(i) + " (theta or alpha) has another shape");
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < data.theta.size(); ++i) {
    learner.theta()[i].copy_(data.theta[i]);
    learner.alpha()[i].copy_(data.alpha[i]);
  }
}

std::string resolve_checkpoint_path(const std::string& run_dir_or_file) {
  std::error_code ec;
  if (fs::is_directory(run_dir_or_file, ec)) return (fs::path(run_dir_or_file) / kCheckpointFile).string();
  return run_dir_or_file;
}

std::string shown_run(std::string run) {
  while (run.size() > 1 && run.back() == '/') run.pop_back();
  return run;
}

void save_checkpoint(const std::string& path, const CheckpointData& data,
                     const std::function<void(torch::serialize::OutputArchive&)>& extra) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("config_yaml", c10::IValue(data.config_yaml));
  archive.write("env", c10::IValue(data.env));
  archive.write("algo", c10::IValue(to_string(data.algorithm)));
  archive.write("architecture", c10::IValue(data.architecture));
  archive.write("iteration", c10::IValue(data.iteration));
  archive.write("num_parameters", c10::IValue(static_cast<int64_t>(data.theta.size())));
  for (size_t i = 0; i < data.theta.size(); ++i) {
    archive.write("theta." + std::to_string(i), data.theta[i].detach().cpu());
    archive.write("alpha." + std::to_string(i), data.alpha[i].detach().cpu());
  }
  if (extra) extra(archive);
  std::ostringstream payload_stream;
  archive.save_to(payload_stream);
  const std::string payload = payload_stream.str();
  std::string contents(kContainerMagic, sizeof(kContainerMagic));
  append_u64(contents, kContainerVersion);
  append_u64(contents, payload.size());
  append_u64(contents, fnv1a64(payload.data(), payload.size()));
  contents += payload;
  write_file_atomically(path, contents);
}

void write_parameter_copy(const std::string& out_dir, const CheckpointData& data) {
  const std::filesystem::path out = out_dir;
  if (std::filesystem::exists(out)) throw UsageError("OUT_DIR '" + out_dir + "' exists; give a new directory");
  const std::filesystem::path partial = out_dir + ".partial";
  std::filesystem::remove_all(partial);
  std::filesystem::create_directories(partial);
  try {
    save_checkpoint((partial / kCheckpointFile).string(), data);
    write_file_atomically((partial / kConfigFile).string(), data.config_yaml);
    std::filesystem::rename(partial, out);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(partial, ignored);
    throw;
  }
}

CheckpointData load_checkpoint(const std::string& run_dir_or_file,
                               const std::function<void(torch::serialize::InputArchive&)>& extra) {
  const std::string path = resolve_checkpoint_path(run_dir_or_file);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (fs::is_directory(run_dir_or_file, ec) && fs::exists(fs::path(run_dir_or_file) / kConfigFile, ec)) {
      // config.yaml is written first: a run of `metarl train --out` that has not reached
      // (or stopped before) its first checkpoint.
      throw UsageError("run '" + run_dir_or_file + "' holds no checkpoint yet: its training stopped before its "
                       "first checkpoint, or is still running; wait for it, or train it again (`metarl train ... "
                       "--out " + run_dir_or_file + "`, no --force needed)");
    }
    throw UsageError("checkpoint '" + path + "' does not exist (expected a run directory from `metarl train --out` "
                     "or a checkpoint file)");
  }
  if (!fs::is_regular_file(path, ec)) {
    throw UsageError("checkpoint '" + path + "' is not a regular file (a device, FIFO or socket); expected a run "
                     "directory from `metarl train --out` or a checkpoint file");
  }
  auto fail = [&](const std::string& why) -> UsageError {
    return UsageError("checkpoint '" + path + "' is not a usable metarl checkpoint: " + why);
  };
  // The header first: a file that is not a checkpoint, or whose size is not the one
  // its header declares, is refused before its payload is read (a large file handed
  // over by mistake is not read into memory).
  std::string contents;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw fail(std::string("cannot open the file: ") + std::strerror(errno));
    contents.resize(kContainerHeaderBytes);
    in.read(contents.data(), static_cast<std::streamsize>(contents.size()));
    contents.resize(static_cast<size_t>(in.gcount()));
    if (contents.size() < kContainerHeaderBytes || contents.compare(0, 8, kContainerMagic, 8) != 0) {
      throw fail("it does not start with a metarl checkpoint header");
    }
    const std::uint64_t version = read_u64(contents.data() + 8);
    if (version != kContainerVersion) {
      throw fail("container version " + std::to_string(version) + ", this metarl reads " +
                 std::to_string(kContainerVersion));
    }
    const std::uint64_t declared = read_u64(contents.data() + 16);
    const std::uintmax_t file_size = fs::file_size(path, ec);
    if (ec || declared != file_size - kContainerHeaderBytes) {
      throw fail("truncated: " + std::to_string(ec ? 0 : file_size - kContainerHeaderBytes) + " of " +
                 std::to_string(declared) + " bytes");
    }
    contents.resize(kContainerHeaderBytes + declared);
    in.read(contents.data() + kContainerHeaderBytes, static_cast<std::streamsize>(declared));
    if (static_cast<std::uint64_t>(in.gcount()) != declared) {
      throw fail(std::string("cannot read the file: ") + std::strerror(errno));
    }
  }
  // Magic, version and length were checked above, before the payload was read.
  const std::uint64_t length = contents.size() - kContainerHeaderBytes;
  const std::uint64_t checksum = read_u64(contents.data() + 24);
  const char* payload = contents.data() + kContainerHeaderBytes;
  if (fnv1a64(payload, length) != checksum) throw fail("checksum mismatch: the file is corrupted");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(payload, length, torch::kCPU);
  } catch (const std::exception& e) {
    throw fail(std::string("cannot parse it: ") + e.what());
  }
  auto read_string = [&](const char* key) {
    c10::IValue value;
    if (!archive.try_read(key, value) || !value.isString()) throw fail(std::string("missing entry '") + key + "'");
    return value.toStringRef();
  };
  auto read_int = [&](const char* key) {
    c10::IValue value;
    if (!archive.try_read(key, value) || !value.isInt()) throw fail(std::string("missing entry '") + key + "'");
    return value.toInt();
  };
  const std::string format = read_string("format");
  if (format != kCheckpointFormat) {
    throw fail("format '" + format + "', this metarl reads '" + kCheckpointFormat + "'");
  }
  CheckpointData data;
  data.config_yaml = read_string("config_yaml");
  data.env = read_string("env");
  const std::string algo = read_string("algo");
  try {
    data.algorithm = parse_algorithm(algo);
  } catch (const UsageError&) {
    throw fail("algorithm '" + algo + "', this metarl knows " + enum_choices(algorithm_names()));
  }
  data.architecture = read_string("architecture");
  data.iteration = read_int("iteration");
  data.checksum = checksum;
  const int64_t count = read_int("num_parameters");
  if (count <= 0 || count > 4096) throw fail("implausible parameter count " + std::to_string(count));
  for (int64_t i = 0; i < count; ++i) {
    torch::Tensor theta;
    torch::Tensor alpha;
    if (!archive.try_read("theta." + std::to_string(i), theta) || !archive.try_read("alpha." + std::to_string(i), alpha)) {
      throw fail("missing parameter tensor " + std::to_string(i));
    }
    data.theta.push_back(theta);
    data.alpha.push_back(alpha);
  }
  if (extra) {
    try {
      extra(archive);
    } catch (const c10::Error& e) {
      throw fail(std::string("incomplete training state: ") + e.what_without_backtrace());
    }
  }
  return data;
}

torch::Tensor rng_words_to_tensor(const std::vector<std::uint64_t>& words) {
  auto tensor = torch::empty({static_cast<int64_t>(words.size())}, torch::kInt64);
  std::memcpy(tensor.data_ptr<int64_t>(), words.data(), words.size() * sizeof(std::uint64_t));
  return tensor;
}

std::vector<std::uint64_t> rng_tensor_to_words(const torch::Tensor& tensor) {
  const auto contiguous = tensor.to(torch::kInt64).contiguous();
  std::vector<std::uint64_t> words(static_cast<size_t>(contiguous.numel()));
  std::memcpy(words.data(), contiguous.data_ptr<int64_t>(), words.size() * sizeof(std::uint64_t));
  return words;
}

}  // namespace metarl::meta
