#pragma once
// Random numbers for environments and task sampling. xoshiro256** seeded through
// splitmix64: fast, small state (one per env row, so results do not depend on how
// rows are split over threads), and bit-identical on every platform. std::mt19937
// with std::uniform_real_distribution was rejected: the distribution's output is
// implementation-defined, so a seed would not pin a rollout across standard libraries.

#include <array>
#include <cstdint>

namespace metarl {

// splitmix64 step: turns any 64-bit value into a well-mixed one.
inline std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A seed for an independent stream: derive_seed(seed, stream) differs for every
// (seed, stream) pair, e.g. stream = env row, or a tag per task-sampling split.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  return mix_seed(mix_seed(seed) ^ mix_seed(stream + 0x632BE59BD9B4E019ULL));
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& word : state_) {
      x = mix_seed(x);
      word = x;
    }
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // The full generator state, for checkpoints: set_state(state()) continues the
  // stream exactly where it was.
  std::array<std::uint64_t, 4> state() const { return {state_[0], state_[1], state_[2], state_[3]}; }
  void set_state(const std::array<std::uint64_t, 4>& state) {
    for (int i = 0; i < 4; ++i) state_[i] = state[i];
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4]{};
};

}  // namespace metarl
