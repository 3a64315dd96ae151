#include "report/samples.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "batch_io.hpp"
#include "report/png.hpp"
#include "report/report.hpp"

namespace panoramia::report {
namespace {

constexpr int kShown = 8;

std::string image_grid(const Batch& b, const std::string& alt) {
  const auto x = b.x.slice(0, 0, std::min<std::int64_t>(kShown, b.size())).to(torch::kFloat32);
  const int n = static_cast<int>(x.size(0)), c = static_cast<int>(x.size(1));
  const int h = static_cast<int>(x.size(2)), w = static_cast<int>(x.size(3));
  const int channels = c == 1 ? 1 : 3;
  const int pad = 2, width = n * (w + pad) + pad, height = h + 2 * pad;
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * channels, 255);
  const auto bytes = (x.clamp(0, 1) * 255).round().to(torch::kUInt8).contiguous();
  const std::uint8_t* src = bytes.data_ptr<std::uint8_t>();
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < h; ++y)
      for (int xx = 0; xx < w; ++xx)
        for (int ch = 0; ch < channels; ++ch) {
          const int plane = c == 1 ? 0 : ch;
          pixels[(static_cast<std::size_t>(y + pad) * width + pad + i * (w + pad) + xx) * channels +
                 ch] = src[((static_cast<std::size_t>(i) * c + plane) * h + y) * w + xx];
        }
  return "<img class=\"grid\" alt=\"" + alt + "\" src=\"data:image/png;base64," +
         base64(encode_png(pixels, width, height, channels)) + "\" width=\"" +
         std::to_string(width * 3) + "\">";
}

std::string cell(const Batch& b, std::int64_t row, std::int64_t col) {
  const double v = b.x[row][col].item<double>();
  if (b.schema) {
    const auto& column = b.schema->columns.at(col);
    if (column.kind == ColumnKind::kCategorical) {
      const auto k = static_cast<std::size_t>(std::llround(v));
      return k < column.categories.size() ? html_escape(column.categories[k]) : "?";
    }
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string rows_table(const Batch& b, const std::string& caption) {
  const auto x = b.x.reshape({b.size(), -1});
  const Batch flat{x, b.y, b.modality, b.schema};
  const std::int64_t cols = std::min<std::int64_t>(x.size(1), b.schema ? x.size(1) : 8);
  std::ostringstream out;
  out << "<table class=\"samples\"><caption>" << caption << "</caption><tr>";
  for (std::int64_t c = 0; c < cols; ++c)
    out << "<th>" << (b.schema ? html_escape(b.schema->columns[c].name) : "x" + std::to_string(c))
        << "</th>";
  if (!b.schema && b.y.defined()) out << "<th>label</th>";
  out << "</tr>";
  for (std::int64_t r = 0; r < std::min<std::int64_t>(kShown, b.size()); ++r) {
    out << "<tr>";
    for (std::int64_t c = 0; c < cols; ++c) out << "<td>" << cell(flat, r, c) << "</td>";
    if (!b.schema && b.y.defined()) out << "<td>" << b.y[r].item<std::int64_t>() << "</td>";
    out << "</tr>";
  }
  return out.str() + "</table>";
}

std::string texts(const std::filesystem::path& dir) {
  std::ostringstream out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.path().extension() != ".txt") continue;
    std::ifstream in(e.path());
    std::string line;
    int shown = 0;
    out << "<p>From " << html_escape(e.path().filename().string()) << ":</p><ol class=\"texts\">";
    while (shown < 5 && std::getline(in, line))
      if (!line.empty()) {
        out << "<li>" << html_escape(line.substr(0, 600)) << "</li>";
        ++shown;
      }
    out << "</ol>";
    break;
  }
  return out.str();
}

std::string stage_key(const ResultsDb& db, std::int64_t run, const std::string& stage) {
  for (const auto& s : db.stages(run))
    if (s.stage == stage) return s.cache_key;
  return "";
}

}  // namespace

std::string samples_section(const ResultsDb& db, const RunRecord& run) {
  const std::string data_key = stage_key(db, run.id, "data");
  const std::string gen_key = stage_key(db, run.id, "generator");
  const std::filesystem::path cache = std::filesystem::path(run.workdir) / "cache";
  const auto data_file = cache / ("data-" + data_key) / "data.pt";
  const auto gen_dir = cache / ("generator-" + gen_key);
  if (data_key.empty() || gen_key.empty() || !std::filesystem::exists(data_file) ||
      !std::filesystem::exists(gen_dir / "synthetic.pt"))
    return "<p class=\"note\">Samples are not available: the run's stage cache (" +
           html_escape(cache.string()) + ") no longer holds its data and generator outputs.</p>";
  const Batch real = load_batch(data_file);
  const Batch fake = load_batch(gen_dir / "synthetic.pt");
  if (real.modality == "image" && real.x.dim() == 4)
    return "<p>Real (first row) and generated (second row) images:</p>" +
           image_grid(real, "real images") + "<br>" + image_grid(fake, "generated images");
  if (real.modality == "text") {
    const std::string t = texts(gen_dir);
    return t.empty() ? "<p class=\"note\">The generator wrote no text samples.</p>" : t;
  }
  return rows_table(real, "real samples") + rows_table(fake, "generated samples");
}

}  // namespace panoramia::report
