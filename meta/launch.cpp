#include "meta/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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
  const pid_t launcher = ::getpid();
  // Each rank leads a process group of its own: a Ctrl-C at the terminal reaches the
  // launcher alone, which passes it on once (a rank's second signal kills it at once).
  struct sigaction forward {};
  forward.sa_handler = remember_signal;
  sigemptyset(&forward.sa_mask);
  struct sigaction old_int {};
  struct sigaction old_term {};
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);
  g_forward_signal = 0;
  for (int rank = 0; rank < processes; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("cannot start a rank: fork failed: ") + std::strerror(errno));
    if (pid == 0) {
      ::setpgid(0, 0);
      // The ranks stop (with a checkpoint) when the launcher dies, even by SIGKILL.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) _exit(128 + SIGTERM);
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      const std::string r = std::to_string(rank);
      const std::string n = std::to_string(processes);
      ::setenv("RANK", r.c_str(), 1);
      ::setenv("LOCAL_RANK", r.c_str(), 1);
      ::setenv("WORLD_SIZE", n.c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", n.c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      _exit(127);  // exec failed
    }
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
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return first_failure;
}

}  // namespace metarl::meta
