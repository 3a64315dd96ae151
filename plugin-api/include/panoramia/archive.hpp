#pragma once
/// \file
/// Saving a LibTorch archive so that a full disk is an error naming the file, not an abort.
///
/// `torch::serialize::OutputArchive::save_to(path)` writes through LibTorch's file writer, whose
/// destructor throws when a write failed (a full disk): during stack unwinding that ends the
/// process with `std::terminate`. `save_archive` hands LibTorch a writer function that never
/// fails, keeps the first error of the underlying stream, and throws `std::runtime_error`
/// ("cannot write FILE: No space left on device") once LibTorch is done. Plugins and the host
/// save every archive with it.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <torch/serialize/output-archive.h>

namespace panoramia {

inline void save_archive(torch::serialize::OutputArchive& archive,
                         const std::filesystem::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  int error = out ? 0 : (errno != 0 ? errno : EIO);
  archive.save_to([&](const void* data, std::size_t size) -> std::size_t {
    if (error == 0) {
      out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
      if (!out) error = errno != 0 ? errno : EIO;
    }
    return size;
  });
  if (error == 0) {
    out.close();
    if (!out) error = errno != 0 ? errno : EIO;
  }
  if (error != 0)
    throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(error));
}

}  // namespace panoramia
