#include "csv_parser.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace panoramia::csv {
namespace {

class Tokenizer {
 public:
  Tokenizer(std::string_view text, const CsvFormat& format, const std::string& source)
      : text_(text), format_(format), source_(source) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark
  }

  std::vector<CsvRecord> run() {
    std::vector<CsvRecord> records;
    while (pos_ < text_.size()) {
      CsvRecord record;
      record.line = line_;
      bool any_quoted = false;
      for (;;) {
        bool quoted = false;
        record.fields.push_back(field(quoted));
        any_quoted = any_quoted || quoted;
        if (pos_ < text_.size() && text_[pos_] == format_.delimiter) {
          ++pos_;
          continue;
        }
        end_of_line();
        break;
      }
      const bool blank = record.fields.size() == 1 && record.fields[0].empty() && !any_quoted;
      if (!blank) records.push_back(std::move(record));
    }
    return records;
  }

 private:
  bool is_space(char c) const { return (c == ' ' || c == '\t') && c != format_.delimiter; }
  bool at_line_end() const {
    return pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '\r';
  }

  void skip_spaces() {
    if (!format_.trim) return;
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  std::string field(bool& quoted) {
    skip_spaces();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      quoted = true;
      return quoted_field();
    }
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != format_.delimiter && text_[pos_] != '\n' &&
           text_[pos_] != '\r')
      ++pos_;
    std::size_t end = pos_;
    if (format_.trim)
      while (end > begin && is_space(text_[end - 1])) --end;
    return std::string(text_.substr(begin, end - begin));
  }

  std::string quoted_field() {
    const std::int64_t open_line = line_;
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= text_.size())
        throw std::runtime_error(source_ + " line " + std::to_string(open_line) +
                                 ": a quoted field opened on this line is never closed");
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          out += '"';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n')))
        ++line_;
      out += c;
      ++pos_;
    }
    skip_spaces();
    if (!at_line_end() && text_[pos_] != format_.delimiter)
      throw std::runtime_error(source_ + " line " + std::to_string(line_) +
                               ": unexpected character '" + std::string(1, text_[pos_]) +
                               "' after a closing quote");
    return out;
  }

  void end_of_line() {
    if (pos_ >= text_.size()) return;
    if (text_[pos_] == '\r') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
    ++line_;
  }

  std::string_view text_;
  const CsvFormat& format_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
};

}  // namespace

std::vector<CsvRecord> parse_csv(std::string_view text, const CsvFormat& format,
                                 const std::string& source) {
  if (format.delimiter == '"' || format.delimiter == '\n' || format.delimiter == '\r')
    throw std::invalid_argument("the CSV delimiter cannot be a quote or a line break");
  return Tokenizer(text, format, source).run();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + path);
  return buffer.str();
}

std::string quote_field(const std::string& field, char delimiter) {
  const bool needs = field.find_first_of(std::string("\"\r\n") + delimiter) != std::string::npos ||
                     (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!needs) return field;
  std::string out = "\"";
  for (const char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace panoramia::csv
