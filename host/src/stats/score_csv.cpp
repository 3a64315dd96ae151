#include "stats/score_csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace panoramia::stats {
namespace {

constexpr std::string_view kMember = "member";
constexpr std::string_view kBaseline = "baseline_pred";
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// What a header field is used for.
enum class Role { kIgnored, kMember, kScore };

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::string_view unquote(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

// Splits text into lines (without '\n' or a trailing '\r'), numbering them from 1.
class LineReader final {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool next(std::string_view& line) {
    if (position_ >= text_.size()) return false;
    const char* begin = text_.data() + position_;
    const auto* newline =
        static_cast<const char*>(std::memchr(begin, '\n', text_.size() - position_));
    const std::size_t length =
        newline ? static_cast<std::size_t>(newline - begin) : text_.size() - position_;
    position_ += length + 1;
    ++number_;
    line = std::string_view(begin, length);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  }

  std::size_t number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
  std::size_t number_ = 0;
};

class Parser final {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  ScoreTable run() {
    if (text_.substr(0, kByteOrderMark.size()) == kByteOrderMark) {
      text_.remove_prefix(kByteOrderMark.size());
    }
    LineReader lines(text_);
    std::string_view line;
    if (!lines.next(line) || trim(line).empty()) {
      fail(1, "the file is empty, expected a header row with 'member' and 'baseline_pred' columns");
    }
    read_header(line);
    const auto expected_rows =
        static_cast<std::size_t>(std::count(text_.begin(), text_.end(), '\n'));
    table_.member.reserve(expected_rows);
    for (auto& column : table_.scores) column.reserve(expected_rows);
    while (lines.next(line)) {
      if (!trim(line).empty()) read_row(line, lines.number());
    }
    if (table_.member.empty()) fail(2, "there are no data rows after the header");
    return std::move(table_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& problem) const {
    throw std::runtime_error("score file '" + source_ + "' line " + std::to_string(line) + ": " +
                             problem);
  }

  void read_header(std::string_view line) {
    table_.source = source_;
    bool has_member = false;
    for (std::string_view rest = line;;) {
      const auto comma = rest.find(',');
      const std::string_view name = unquote(rest.substr(0, comma));
      Role role = Role::kIgnored;
      if (name == kMember) {
        if (has_member) fail(1, "the header names the 'member' column twice");
        has_member = true;
        role = Role::kMember;
      } else if (name.find("pred") != std::string_view::npos) {
        if (std::find(table_.names.begin(), table_.names.end(), name) != table_.names.end()) {
          fail(1, "the header names the score column '" + std::string(name) + "' twice");
        }
        table_.names.emplace_back(name);
        role = Role::kScore;
      }
      roles_.push_back(role);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!has_member) fail(1, "the header has no 'member' column");
    if (std::find(table_.names.begin(), table_.names.end(), kBaseline) == table_.names.end()) {
      fail(1, "the header has no 'baseline_pred' column");
    }
    table_.scores.resize(table_.names.size());
  }

  void read_row(std::string_view line, std::size_t number) {
    const auto fields = static_cast<std::size_t>(std::count(line.begin(), line.end(), ',')) + 1;
    if (fields != roles_.size()) {
      fail(number, "expected " + std::to_string(roles_.size()) +
                       " fields as in the header, found " + std::to_string(fields));
    }
    std::size_t score = 0;
    for (const Role role : roles_) {
      const auto comma = line.find(',');
      if (role != Role::kIgnored) {
        const std::string_view text = trim(line.substr(0, comma));
        if (role == Role::kMember) {
          table_.member.push_back(parse_member(text, number));
        } else {
          table_.scores[score].push_back(parse_score(text, table_.names[score], number));
          ++score;
        }
      }
      if (comma != std::string_view::npos) line.remove_prefix(comma + 1);
    }
  }

  int parse_member(std::string_view text, std::size_t number) const {
    if (text == "True" || text == "true") return 1;
    if (text == "False" || text == "false") return 0;
    double value = 0;
    if (!parse_double(text, value) || (value != 0.0 && value != 1.0)) {
      fail(number, "the member flag is '" + std::string(text) + "', expected 0 or 1");
    }
    return value == 1.0 ? 1 : 0;
  }

  double parse_score(std::string_view text, const std::string& column, std::size_t number) const {
    double value = 0;
    if (!parse_double(text, value)) {
      fail(number,
           "column '" + column + "' holds '" + std::string(text) + "', which is not a number");
    }
    if (!(value >= 0.0 && value <= 1.0)) {
      fail(number, "column '" + column + "' holds " + std::string(text) + ", outside [0, 1]");
    }
    return value == 0.0 ? 0.0 : value;  // folds -0 into +0
  }

  static bool parse_double(std::string_view text, double& value) {
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    if (text.empty()) return false;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size();
  }

  std::string_view text_;
  const std::string& source_;
  std::vector<Role> roles_;
  ScoreTable table_;
};

}  // namespace

const std::vector<double>& ScoreTable::column(const std::string& name) const {
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    throw std::out_of_range("score table '" + source + "' has no column '" + name + "'");
  }
  return scores[static_cast<std::size_t>(found - names.begin())];
}

ScoreTable read_score_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("score file '" + path + "' cannot be opened: " + std::strerror(errno));
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error("score file '" + path + "' cannot be read as a file");
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (size > 0 && !in.read(text.data(), size)) {
    throw std::runtime_error("score file '" + path + "' cannot be read to the end");
  }
  return parse_score_csv(text, path);
}

ScoreTable parse_score_csv(std::string_view text, const std::string& source) {
  return Parser(text, source).run();
}

}  // namespace panoramia::stats
