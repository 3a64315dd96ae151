#pragma once
/// \file
/// The Boost.Math policy shared by the statistics sources (internal to `panoramia_stats`).

#include <boost/math/policies/policy.hpp>

namespace panoramia::stats {

/// Evaluate in double precision, as scipy's Boost-backed distributions do, so p-values match the
/// reference to the last bits; domain errors throw (the default), underflow returns 0 (the
/// default).
using StatsPolicy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

}  // namespace panoramia::stats
