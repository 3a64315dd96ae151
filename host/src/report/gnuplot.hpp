#pragma once
// Plots drawn by gnuplot, driven through a pipe: each plot becomes inline SVG for the HTML report
// and a PNG file beside it.

#include <filesystem>
#include <string>
#include <vector>

namespace panoramia::report {

struct Series {
  std::string title;
  std::vector<double> x, y;
  std::string style = "lines";  // lines | dashed | steps | points
};

struct Plot {
  std::string title, xlabel, ylabel;
  bool log_x = false, log_y = false;
  std::string x_range, y_range;  // gnuplot ranges such as "[0:1]"; empty: automatic
  std::vector<Series> series;
};

/// Whether a working `gnuplot` is on the PATH.
bool gnuplot_available();

/// Draws `plot` as SVG (returned, without the XML prolog) and as a PNG at `png`. Throws
/// std::runtime_error naming the plot when gnuplot fails.
std::string render(const Plot& plot, const std::filesystem::path& png);

}  // namespace panoramia::report
