#pragma once
// How close generated tables are to real ones, column by column: total-variation distance for
// categorical columns, the two-sample Kolmogorov-Smirnov statistic for continuous ones.

#include <string>
#include <vector>

#include <panoramia/data.hpp>

namespace panoramia {

struct ColumnDistance {
  std::string column;
  std::string metric;  // "tv" or "ks"
  double distance = 0;
};

/// Both batches must be tabular with the same schema.
std::vector<ColumnDistance> column_closeness(const Batch& real, const Batch& synthetic);

/// Total variation between the category frequencies of two code vectors.
double total_variation(const std::vector<long>& a, const std::vector<long>& b, long categories);
/// Two-sample KS statistic sup |F_a - F_b|.
double ks_statistic(std::vector<double> a, std::vector<double> b);

}  // namespace panoramia
