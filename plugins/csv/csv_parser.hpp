#pragma once
// An RFC 4180 CSV tokenizer: quoted fields (with "" escapes, delimiters and line breaks inside),
// CRLF, LF or CR line ends, optional trimming of whitespace around fields, blank lines skipped.
// Every record remembers the line it starts on, so that later errors can name it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace panoramia::csv {

struct CsvFormat {
  char delimiter = ',';
  /// Strip spaces and tabs around fields (outside the quotes of a quoted field).
  bool trim = true;
};

struct CsvRecord {
  std::vector<std::string> fields;
  std::int64_t line = 0;  // 1-based line the record starts on
};

/// Splits `text` into records. `source` names the input in error messages ("FILE line N: ...").
/// Throws std::runtime_error for a quoted field that is never closed or text after a closing quote.
std::vector<CsvRecord> parse_csv(std::string_view text, const CsvFormat& format,
                                 const std::string& source);

/// Reads a whole file; throws std::runtime_error naming the file when it cannot be read.
std::string read_file(const std::string& path);

/// Quotes `field` for writing when it holds the delimiter, a quote, a line break or outer spaces.
std::string quote_field(const std::string& field, char delimiter);

}  // namespace panoramia::csv
