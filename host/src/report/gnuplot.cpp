#include "report/gnuplot.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace panoramia::report {
namespace {

// A gnuplot string literal of untrusted text (column names come from a results database): a
// newline would end the command and start another, a backquote runs a shell command even inside
// quotes, so control characters and backquotes become '?', and '"' and '\\' are escaped.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '`') {
      out += '?';
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string style_of(const Series& s, int index) {
  const int color = index % 8 + 1;
  if (s.style == "dashed") return "with lines dt 2 lw 1.5 lc " + std::to_string(color);
  if (s.style == "steps") return "with steps lw 2 lc " + std::to_string(color);
  if (s.style == "points") return "with points pt 7 ps 0.5 lc " + std::to_string(color);
  return "with lines lw 2 lc " + std::to_string(color);
}

void write_script(std::ostream& out, const Plot& plot, int index_offset = 0) {
  out << "set title " << quote(plot.title) << "\n";
  out << "set xlabel " << quote(plot.xlabel) << "\nset ylabel " << quote(plot.ylabel) << "\n";
  out << "set key outside right top box\nset grid\n";
  if (plot.log_x) out << "set logscale x\n";
  if (plot.log_y) out << "set logscale y\n";
  if (!plot.x_range.empty()) out << "set xrange " << plot.x_range << "\n";
  if (!plot.y_range.empty()) out << "set yrange " << plot.y_range << "\n";
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    if (s.x.empty()) continue;
    out << "$d" << i << " << EOD\n";
    for (std::size_t k = 0; k < s.x.size(); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
      if ((plot.log_x && s.x[k] <= 0) || (plot.log_y && s.y[k] <= 0)) continue;
      out << s.x[k] << " " << s.y[k] << "\n";
    }
    out << "EOD\n";
    parts.push_back("$d" + std::to_string(i) + " using 1:2 " +
                    style_of(s, static_cast<int>(i) + index_offset) + " title " + quote(s.title));
  }
  if (parts.empty()) {
    out << "set label 1 'no data' at graph 0.5, graph 0.5 center\nplot NaN notitle\n";
    return;
  }
  out << "plot ";
  for (std::size_t i = 0; i < parts.size(); ++i) out << (i ? ", \\\n     " : "") << parts[i];
  out << "\n";
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

bool gnuplot_available() {
  return std::system("gnuplot -e 'exit' >/dev/null 2>&1") == 0;
}

std::string render(const Plot& plot, const std::filesystem::path& png) {
  // $TMPDIR (temp_directory_path), not a fixed /tmp.
  std::string tmpl = (std::filesystem::temp_directory_path() / "panoramia-plot-XXXXXX").string();
  const int fd = mkstemp(tmpl.data());
  if (fd < 0)
    throw std::runtime_error("cannot create a temporary file for plot '" + plot.title + "'");
  close(fd);
  const std::filesystem::path svg = tmpl;
  std::ostringstream script;
  // noenhanced: column names such as baseline_pred are text, not subscripts.
  script << "set terminal svg size 720,420 noenhanced font 'sans,11' background '#ffffff'\n";
  script << "set output " << quote(svg.string()) << "\n";
  write_script(script, plot);
  script << "set output\nset terminal pngcairo size 900,525 noenhanced font 'sans,10'\n";
  script << "set output " << quote(png.string()) << "\nreplot\nset output\n";
  // Nothing gnuplot prints may reach our stdout (a PNG it could not open a file for would).
  FILE* pipe = popen("gnuplot >/dev/null 2>&1", "w");
  if (pipe == nullptr)
    throw std::runtime_error("cannot start gnuplot for plot '" + plot.title + "'");
  const std::string text = script.str();
  std::fwrite(text.data(), 1, text.size(), pipe);
  const int status = pclose(pipe);
  std::string out = read_all(svg);
  std::filesystem::remove(svg);
  if (status != 0 || out.find("<svg") == std::string::npos)
    throw std::runtime_error("gnuplot failed to draw plot '" + plot.title + "'");
  return out.substr(out.find("<svg"));
}

}  // namespace panoramia::report
