#pragma once
// Fashion-MNIST-shaped IDX files of simple shapes, written by the image end-to-end tests (the
// quickstart audit, the LibTorch 2.x line's audits of models saved by current PyTorch).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

namespace panoramia::testing {

inline constexpr int kSide = 28;
inline constexpr int kImages = 500;

inline void write_idx(const std::filesystem::path& file, std::uint32_t magic,
                      const std::vector<std::uint32_t>& dims,
                      const std::vector<std::uint8_t>& data) {
  std::ofstream out(file, std::ios::binary);
  auto put = [&](std::uint32_t v) {
    const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out.write(bytes, 4);
  };
  put(magic);
  for (const auto d : dims) put(d);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

// Ten classes of bright shapes on black (bars, boxes, crosses at class-dependent places and sizes),
// jittered and noisy, in the layout of Fashion-MNIST's train-*-ubyte files.
inline void write_shapes(const std::filesystem::path& dir, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> jitter(-2, 2), noise(0, 40), brightness(150, 255);
  std::vector<std::uint8_t> pixels(std::size_t(kImages) * kSide * kSide), labels(kImages);
  for (int i = 0; i < kImages; ++i) {
    const int label = int(rng() % 10);
    labels[i] = std::uint8_t(label);
    const int dx = jitter(rng), dy = jitter(rng), level = brightness(rng);
    const int size = 4 + label % 5 * 2;
    const int cx = 14 + dx + (label < 5 ? -3 : 3), cy = 14 + dy;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        const bool box = std::abs(x - cx) <= size / 2 && std::abs(y - cy) <= size;
        const bool bar = label >= 5 && std::abs(y - cy) <= 1 && std::abs(x - cx) <= size;
        const int value = (box || bar) ? level - noise(rng) : noise(rng) / 4;
        pixels[(std::size_t(i) * kSide + y) * kSide + x] = std::uint8_t(std::clamp(value, 0, 255));
      }
  }
  write_idx(dir / "train-images-idx3-ubyte", 0x00000803, {kImages, kSide, kSide}, pixels);
  write_idx(dir / "train-labels-idx1-ubyte", 0x00000801, {kImages}, labels);
}

}  // namespace panoramia::testing
