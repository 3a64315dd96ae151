#include "stats/score_csv.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "stats/parallel.hpp"

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

// A problem found while parsing a chunk, with its line number inside the chunk.
struct Failure {
  std::size_t line = 0;
  std::string problem;
};

// The rows of one chunk of the body, parsed independently of the others.
struct Chunk {
  std::string_view text;
  std::vector<int> member;
  std::vector<std::vector<double>> scores;
  std::size_t lines = 0;
  std::optional<Failure> failure;
};

// Bodies above this size are cut into one chunk per core at line ends and parsed in parallel; the
// rows are then joined in file order, so the table (and the first error reported) is the same.
constexpr std::size_t kParallelBytes = std::size_t{1} << 20;

class Parser final {
 public:
  Parser(std::string_view text, const std::string& source, std::size_t chunks)
      : text_(text), source_(source), chunks_(chunks) {}

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
    const auto newline = text_.find('\n');
    const std::string_view body =
        newline == std::string_view::npos ? std::string_view{} : text_.substr(newline + 1);
    std::vector<Chunk> chunks = split(body);
    for_each_task(chunks.size(), static_cast<unsigned>(chunks.size()),
                  [&](std::size_t i) { parse_chunk(chunks[i]); });
    std::size_t first_line = 2;  // of the chunk at hand; the header is line 1
    std::size_t rows = 0;
    for (const Chunk& chunk : chunks) {
      if (chunk.failure) fail(first_line + chunk.failure->line - 1, chunk.failure->problem);
      first_line += chunk.lines;
      rows += chunk.member.size();
    }
    if (rows == 0) fail(2, "there are no data rows after the header");
    join(chunks, rows);
    return std::move(table_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& problem) const {
    throw std::runtime_error("score file '" + source_ + "' line " + std::to_string(line) + ": " +
                             problem);
  }

  std::vector<Chunk> split(std::string_view body) const {
    std::size_t parts = chunks_;
    if (parts == 0)
      parts = body.size() < kParallelBytes ? 1 : std::min<std::size_t>(available_cores(), 16);
    std::vector<Chunk> chunks;
    std::size_t begin = 0;
    for (std::size_t k = 1; k <= parts && begin < body.size(); ++k) {
      std::size_t end = body.size();
      if (k < parts) {
        const auto cut = body.find('\n', std::max(begin, body.size() * k / parts));
        if (cut != std::string_view::npos) end = cut + 1;
      }
      Chunk chunk;
      chunk.text = body.substr(begin, end - begin);
      chunk.scores.resize(table_.names.size());
      chunks.push_back(std::move(chunk));
      begin = end;
    }
    return chunks;
  }

  void parse_chunk(Chunk& chunk) const {
    const auto expected_rows =
        static_cast<std::size_t>(std::count(chunk.text.begin(), chunk.text.end(), '\n')) + 1;
    chunk.member.reserve(expected_rows);
    for (auto& column : chunk.scores) column.reserve(expected_rows);
    LineReader lines(chunk.text);
    std::string_view line;
    try {
      while (lines.next(line)) {
        if (!trim(line).empty()) read_row(line, lines.number(), chunk);
      }
    } catch (Failure& failure) {
      chunk.failure = std::move(failure);
    }
    chunk.lines = lines.number();
  }

  void join(std::vector<Chunk>& chunks, std::size_t rows) {
    if (chunks.size() == 1) {
      table_.member = std::move(chunks[0].member);
      table_.scores = std::move(chunks[0].scores);
      return;
    }
    table_.member.reserve(rows);
    for (auto& column : table_.scores) column.reserve(rows);
    for (Chunk& chunk : chunks) {
      table_.member.insert(table_.member.end(), chunk.member.begin(), chunk.member.end());
      for (std::size_t c = 0; c < table_.scores.size(); ++c)
        table_.scores[c].insert(table_.scores[c].end(), chunk.scores[c].begin(),
                                chunk.scores[c].end());
      chunk = Chunk{};
    }
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

  void read_row(std::string_view line, std::size_t number, Chunk& chunk) const {
    const auto fields = static_cast<std::size_t>(std::count(line.begin(), line.end(), ',')) + 1;
    if (fields != roles_.size()) {
      throw Failure{number, "expected " + std::to_string(roles_.size()) +
                                " fields as in the header, found " + std::to_string(fields)};
    }
    std::size_t score = 0;
    for (const Role role : roles_) {
      const auto comma = line.find(',');
      if (role != Role::kIgnored) {
        const std::string_view text = trim(line.substr(0, comma));
        if (role == Role::kMember) {
          chunk.member.push_back(parse_member(text, number));
        } else {
          chunk.scores[score].push_back(parse_score(text, table_.names[score], number));
          ++score;
        }
      }
      if (comma != std::string_view::npos) line.remove_prefix(comma + 1);
    }
  }

  static int parse_member(std::string_view text, std::size_t number) {
    if (text == "True" || text == "true") return 1;
    if (text == "False" || text == "false") return 0;
    double value = 0;
    if (!parse_double(text, value) || (value != 0.0 && value != 1.0)) {
      throw Failure{number, "the member flag is '" + std::string(text) + "', expected 0 or 1"};
    }
    return value == 1.0 ? 1 : 0;
  }

  static double parse_score(std::string_view text, const std::string& column, std::size_t number) {
    double value = 0;
    if (!parse_double(text, value)) {
      throw Failure{number, "column '" + column + "' holds '" + std::string(text) +
                                "', which is not a number"};
    }
    if (!(value >= 0.0 && value <= 1.0)) {
      throw Failure{number,
                    "column '" + column + "' holds " + std::string(text) + ", outside [0, 1]"};
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
  std::size_t chunks_;
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
  // Non-blocking, so that a FIFO is refused instead of waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("score file '" + path + "' cannot be opened: " + std::strerror(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    throw std::runtime_error("score file '" + path + "' is not a regular file");
  }
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      throw std::runtime_error("score file '" + path + "' cannot be read to the end" +
                               (got < 0 ? std::string(": ") + std::strerror(errno) : ""));
    }
    done += static_cast<std::size_t>(got);
  }
  return parse_score_csv(text, path);
}

ScoreTable parse_score_csv(std::string_view text, const std::string& source, std::size_t chunks) {
  return Parser(text, source, chunks).run();
}

}  // namespace panoramia::stats
