#include "png_grid.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <png.h>
#include <torch/torch.h>

namespace panoramia::image {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// libpng reports errors by longjmp; the two functions below hold no C++ objects that need
// destructors between setjmp and the libpng calls.
thread_local char png_message[256];

void png_failure(png_structp png, png_const_charp message) {
  std::snprintf(png_message, sizeof png_message, "%s", message);
  png_longjmp(png, 1);
}

// Appends libpng's output to the std::string at png_get_io_ptr; an allocation failure becomes a
// libpng error (no exception crosses libpng's C frames).
void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  bool appended = true;
  try {
    static_cast<std::string*>(png_get_io_ptr(png))
        ->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {
    appended = false;
  }
  if (!appended) png_error(png, "out of memory");  // outside the handler: it does not return
}

void flush_nothing(png_structp) {}

bool write_rows(std::string& out, png_uint_32 width, png_uint_32 height, int channels,
                const std::uint8_t* data) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, png_failure, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(png_message, sizeof png_message, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, &out, append_bytes, flush_nothing);
  png_set_IHDR(png, info, width, height, 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (png_uint_32 y = 0; y < height; ++y)
    png_write_row(png, data + std::size_t(y) * width * channels);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

/// Reads the header into width/height/channels, then (when `data` is not null) the rows.
bool read_rows(std::FILE* in, png_uint_32& width, png_uint_32& height, int& channels,
               std::uint8_t* (*allocate)(void*, png_uint_32, png_uint_32, int), void* owner) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, png_failure, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(png_message, sizeof png_message, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_init_io(png, in);
  png_read_info(png, info);
  width = png_get_image_width(png, info);
  height = png_get_image_height(png, info);
  const int type = png_get_color_type(png, info);
  if (png_get_bit_depth(png, info) != 8 ||
      (type != PNG_COLOR_TYPE_GRAY && type != PNG_COLOR_TYPE_RGB))
    png_error(png, "only 8-bit grey or RGB images are read");
  channels = type == PNG_COLOR_TYPE_GRAY ? 1 : 3;
  std::uint8_t* data = allocate(owner, width, height, channels);
  for (png_uint_32 y = 0; y < height; ++y)
    png_read_row(png, data + std::size_t(y) * width * channels, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

std::string encode_png_grid(const at::Tensor& images, std::int64_t columns) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3) || images.size(0) == 0)
    throw std::invalid_argument("a PNG grid needs images [n,1|3,H,W], n > 0");
  const std::int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  columns = std::max<std::int64_t>(1, std::min(columns, n));
  const std::int64_t rows = (n + columns - 1) / columns;
  const std::int64_t height = rows * (h + 1) + 1, width = columns * (w + 1) + 1;
  // Grid pixels as HWC bytes; the border stays black.
  auto pixels = (images.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1) * 255.0 + 0.5)
                    .to(torch::kUInt8);
  auto canvas = torch::zeros({height, width, c}, torch::kUInt8);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t top = (i / columns) * (h + 1) + 1, left = (i % columns) * (w + 1) + 1;
    canvas.narrow(0, top, h).narrow(1, left, w).copy_(pixels[i].permute({1, 2, 0}));
  }
  canvas = canvas.contiguous();
  std::string bytes;
  if (!write_rows(bytes, png_uint_32(width), png_uint_32(height), int(c),
                  canvas.data_ptr<std::uint8_t>()))
    throw std::runtime_error(std::string("encoding a PNG grid failed: ") + png_message);
  return bytes;
}

void write_png_grid(const std::filesystem::path& file, const at::Tensor& images,
                    std::int64_t columns) {
  const std::string bytes = encode_png_grid(images, columns);
  File out(std::fopen(file.c_str(), "wb"));
  if (!out || std::fwrite(bytes.data(), 1, bytes.size(), out.get()) != bytes.size() ||
      std::fclose(out.release()) != 0)
    throw std::runtime_error("cannot write PNG file " + file.string());
}

Preview image_preview(const Batch& samples) {
  if (samples.x.dim() != 4) return {};
  const std::int64_t n = std::min<std::int64_t>(samples.size(), kPreviewSamples);
  if (n == 0) return {};
  Preview preview;
  preview.png = encode_png_grid(samples.x.slice(0, 0, n), n);
  return preview;
}

at::Tensor read_png(const std::filesystem::path& file) {
  File in(std::fopen(file.c_str(), "rb"));
  if (!in) throw std::runtime_error("cannot open PNG file " + file.string());
  png_uint_32 width = 0, height = 0;
  int channels = 0;
  at::Tensor canvas;
  auto allocate = [](void* owner, png_uint_32 w, png_uint_32 h, int c) {
    auto& t = *static_cast<at::Tensor*>(owner);
    t = torch::empty({std::int64_t(h), std::int64_t(w), std::int64_t(c)}, torch::kUInt8);
    return t.data_ptr<std::uint8_t>();
  };
  if (!read_rows(in.get(), width, height, channels, allocate, &canvas))
    throw std::runtime_error("reading PNG file " + file.string() + " failed: " + png_message);
  return canvas.permute({2, 0, 1}).to(torch::kFloat32) / 255.0;
}

}  // namespace panoramia::image
