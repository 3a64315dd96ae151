#pragma once
/// \file
/// Reader for the reference score CSV (docs/method.md §3.10, §7.8): a header row with a `member`
/// column (1 = member, 0 = generated) and score columns whose names contain `pred`, one of them
/// `baseline_pred`; every score in [0, 1]. Other columns (such as a pandas index) are ignored. CRLF
/// line ends and a UTF-8 byte-order mark are accepted; blank lines are skipped.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace panoramia::stats {

/// The score columns of one CSV, in file order.
struct ScoreTable {
  std::string source;              ///< the path (or name) the table was read from
  std::vector<int> member;         ///< 1 = member, 0 = generated, one per row
  std::vector<std::string> names;  ///< score column names, e.g. baseline_pred, mia_gpt2_pred
  std::vector<std::vector<double>> scores;  ///< scores[c][row] for column names[c]

  std::size_t rows() const { return member.size(); }
  /// The scores of column `name`; throws `std::out_of_range` naming the column when it is absent.
  const std::vector<double>& column(const std::string& name) const;
};

/// Reads the whole file and parses it with `parse_score_csv`. Throws `std::runtime_error` with one
/// sentence naming the file (and the line, when there is one) for: a file that cannot be opened or
/// is not a regular file (a directory, a FIFO: refused without waiting for a writer), an
/// empty file, a missing `member` or `baseline_pred` column, a duplicated score column, a row with
/// a different field count than the header, a non-numeric value, a score outside [0, 1], a member
/// flag other than 0/1 (True/False are accepted), or a header without data rows.
ScoreTable read_score_csv(const std::string& path);

/// Parses CSV text held in memory; `source` names it in error messages. Same contract as
/// `read_score_csv`. The rows are parsed in `chunks` pieces cut at line ends, one thread each
/// (0: one per core above 1 MiB, else one); the table and the error reported (the first in the
/// file) are the same for every number of chunks.
ScoreTable parse_score_csv(std::string_view text, const std::string& source,
                           std::size_t chunks = 0);

}  // namespace panoramia::stats
