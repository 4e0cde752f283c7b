#include "meta/parallel/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

namespace metarl::meta {

namespace {

// The ranks' pids while the launcher waits, for its signal handler.
volatile sig_atomic_t g_forward_signal = 0;

extern "C" void remember_signal(int signal_number) { g_forward_signal = signal_number; }

// A port nothing listens on now: bind port 0 on the loopback and read what was given.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("cannot open a socket to find a free port: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1: " + why);
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string describe(int rank, int status) {
  if (WIFSIGNALED(status)) return "rank " + std::to_string(rank) + " was killed by signal " + std::to_string(WTERMSIG(status));
  return "rank " + std::to_string(rank) + " exited with status " + std::to_string(WEXITSTATUS(status));
}

int exit_status(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

// While a launcher waits for its children: SIGINT and SIGTERM only set
// g_forward_signal, for the wait loop to pass on. The dispositions before are put back
// when the launcher returns (or throws), and in each child before it runs.
class SignalForwarding {
 public:
  SignalForwarding() {
    struct sigaction forward {};
    forward.sa_handler = remember_signal;
    sigemptyset(&forward.sa_mask);
    sigaction(SIGINT, &forward, &old_int_);
    sigaction(SIGTERM, &forward, &old_term_);
    g_forward_signal = 0;
  }
  ~SignalForwarding() { restore(); }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

  void restore() const {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// Starts this executable with `arguments` (argv[0] first) and `environment` added. The
// child leads a process group of its own, so that a Ctrl-C at the terminal reaches the
// parent alone, which passes it on once (a child's second signal kills it at once); it
// stops (with a checkpoint) when the parent dies, even by SIGKILL; and it gets the
// signal dispositions the parent had before it installed its forwarding handler.
pid_t start_child(const std::vector<std::string>& arguments,
                  const std::vector<std::pair<std::string, std::string>>& environment,
                  const SignalForwarding& forwarding) {
  const pid_t parent = ::getpid();
  // Everything the child needs is allocated before fork(): between fork and exec only
  // async-signal-safe calls (another thread may hold the allocator's lock).
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> assignments;
  for (const auto& [name, value] : environment) assignments.push_back(name + "=" + value);
  // SIGINT and SIGTERM wait until the child has its own dispositions back: one that
  // arrived in between would reach the parent's forwarding handler and be lost.
  sigset_t stop_signals;
  sigset_t previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  const pid_t pid = ::fork();
  if (pid != 0) {
    const int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0) throw std::runtime_error(std::string("cannot start a process: fork failed: ") + std::strerror(fork_errno));
    return pid;
  }
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) _exit(128 + SIGTERM);
  forwarding.restore();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  for (auto& assignment : assignments) ::putenv(assignment.data());
  ::execv("/proc/self/exe", argv.data());
  _exit(127);  // exec failed
}

}  // namespace

std::vector<std::string> without_nproc(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (argv[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(argv[i]);
  }
  return out;
}

int run_local_processes(int processes, const std::vector<std::string>& arguments,
                        const std::function<void(const std::string&)>& report, double grace_seconds) {
  if (processes < 1) throw std::invalid_argument("run_local_processes: at least one process");
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  const SignalForwarding forwarding;
  for (int rank = 0; rank < processes; ++rank) {
    const std::string r = std::to_string(rank);
    const std::string n = std::to_string(processes);
    const pid_t pid = start_child(arguments,
                                  {{"RANK", r}, {"LOCAL_RANK", r}, {"WORLD_SIZE", n}, {"LOCAL_WORLD_SIZE", n},
                                   {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}},
                                  forwarding);
    pids.push_back(pid);
    report("rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ") started, port " + port);
  }

  int first_failure = 0;
  int forwarded = 0;  // the stop signal passed on to the ranks, if any
  bool stopping = false;
  auto stop_started = std::chrono::steady_clock::now();
  int running = processes;
  while (running > 0) {
    if (g_forward_signal != 0) {
      const int signal_number = g_forward_signal;
      g_forward_signal = 0;
      forwarded = signal_number;
      for (const pid_t pid : pids) {
        if (pid > 0) ::kill(pid, signal_number);
      }
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (int rank = 0; rank < processes; ++rank) {
        if (pids[static_cast<size_t>(rank)] != done) continue;
        pids[static_cast<size_t>(rank)] = -1;
        --running;
        if (status != 0) {
          report(describe(rank, status));
          if (first_failure == 0) first_failure = exit_status(status);
          // A rank that stopped for the signal passed on is no failure of the others:
          // they are stopping too, each after its iteration and checkpoint.
          const bool asked_to_stop = forwarded != 0 && exit_status(status) == 128 + forwarded;
          if (!stopping && !asked_to_stop) {
            // The others cannot finish without it: stop them now rather than at their
            // collectives' timeout.
            stopping = true;
            stop_started = std::chrono::steady_clock::now();
            for (const pid_t pid : pids) {
              if (pid <= 0) continue;
              ::kill(pid, SIGTERM);
              ::kill(pid, SIGCONT);  // a stopped (hung) rank must run to see it
            }
          }
        }
      }
      continue;
    }
    if (stopping && std::chrono::steady_clock::now() - stop_started >
                        std::chrono::duration<double>(grace_seconds)) {
      for (const pid_t pid : pids) {
        if (pid > 0) ::kill(pid, SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first_failure;
}

std::vector<std::string> without_options(const std::vector<std::string>& argv, const std::vector<std::string>& options) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv.size(); ++i) {
    bool dropped = false;
    for (const auto& option : options) {
      if (argv[i] == option) {
        ++i;  // and its value
        dropped = true;
        break;
      }
      if (argv[i].rfind(option + "=", 0) == 0) {
        dropped = true;
        break;
      }
    }
    if (!dropped) out.push_back(argv[i]);
  }
  return out;
}

int run_independent_processes(const std::vector<std::vector<std::string>>& commands, int jobs,
                              const std::function<void(size_t, const std::string&)>& report) {
  if (jobs < 1) throw std::invalid_argument("run_independent_processes: at least one job");
  const SignalForwarding forwarding;
  std::vector<pid_t> pids(commands.size(), -1);
  size_t next = 0;
  int running = 0;
  int first_failure = 0;
  bool stopping = false;
  while (running > 0 || (!stopping && next < commands.size())) {
    if (g_forward_signal != 0) {
      const int signal_number = g_forward_signal;
      g_forward_signal = 0;
      stopping = true;
      for (const pid_t pid : pids) {
        if (pid > 0) ::kill(pid, signal_number);
      }
    }
    while (!stopping && running < jobs && next < commands.size()) {
      const pid_t pid = start_child(commands[next], {}, forwarding);
      pids[next] = pid;
      report(next, "started (pid " + std::to_string(pid) + ")");
      ++next;
      ++running;
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] != done) continue;
        pids[i] = -1;
        --running;
        if (status != 0) {
          report(i, WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                        : "exited with status " + std::to_string(WEXITSTATUS(status)));
          if (first_failure == 0) first_failure = exit_status(status);
        } else {
          report(i, "done");
        }
      }
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first_failure;
}

}  // namespace metarl::meta
