#pragma once
// `panoramia report` and `panoramia compare`: self-contained HTML pages (plots inlined as SVG,
// sample images as data URIs; nothing fetched) with PNG copies of every plot beside them.

#include <filesystem>
#include <string>
#include <vector>

#include "results_db.hpp"

namespace panoramia::report {

/// Writes the report of `run` to `html`; PNG plots go to `<html stem>-plots/`. Returns the list of
/// PNG files written (empty when gnuplot is missing; the page then says so). The run is read from
/// `db` once, before anything is written.
std::vector<std::filesystem::path> write_report(const ResultsDb& db, std::int64_t run,
                                                const std::filesystem::path& html);

/// The side-by-side table of `compare` (rows formatted as `show` prints them, prefixed with the
/// run); `attacks` filters the score columns (empty: all).
std::string compare_table(const ResultsDb& db, const std::vector<std::int64_t>& runs,
                          const std::vector<std::string>& attacks);

/// The comparison page: the same table plus overlaid bound-vs-recall and ROC curves.
std::vector<std::filesystem::path> write_compare(const ResultsDb& db,
                                                 const std::vector<std::int64_t>& runs,
                                                 const std::vector<std::string>& attacks,
                                                 const std::filesystem::path& html);

std::string html_escape(const std::string& text);

}  // namespace panoramia::report
