#pragma once
// How close generated tables are to real ones, column by column (total-variation distance for
// categorical columns, the two-sample Kolmogorov-Smirnov statistic for continuous ones), and a
// few rows as the report shows them: the csv reader's `closeness` and `preview`.

#include <string>
#include <vector>

#include <panoramia/data.hpp>
#include <panoramia/preview.hpp>

namespace panoramia::csv {

/// Both batches must be tabular with the same schema; one figure per column, in schema order:
/// measure "tv" (categorical) or "ks" (continuous), feature the column's name.
std::vector<Closeness> column_closeness(const Batch& real, const Batch& synthetic);

/// Total variation between the category frequencies of two code vectors.
double total_variation(const std::vector<long>& a, const std::vector<long>& b, long categories);
/// Two-sample KS statistic sup |F_a - F_b|.
double ks_statistic(std::vector<double> a, std::vector<double> b);

/// The rows of a tabular batch as a table: categories by name, numbers with 4 significant digits;
/// nothing for samples without a schema.
Preview table_preview(const Batch& samples);

}  // namespace panoramia::csv
