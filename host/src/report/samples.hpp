#pragma once
// The "generated beside real" section of a report, read from the run's stage cache.

#include <string>

#include "results_db.hpp"

namespace panoramia::report {

/// HTML for a sample of real and generated data: an image grid, a table of rows or a few texts.
/// Says why when the cache holding them is gone.
std::string samples_section(const ResultsDb& db, const RunRecord& run);

}  // namespace panoramia::report
