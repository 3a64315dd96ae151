#pragma once
/// A target adapter that trains its model itself and keeps two states of it, audited as two
/// variants: "best" (the epoch chosen on the validation set) and "final" (the last epoch).

#include <string>
#include <vector>

#include "panoramia/interfaces.hpp"

namespace panoramia {

class BOOST_SYMBOL_VISIBLE BestAndFinalTarget : public TargetAdapter {
 public:
  bool can_fit() const override { return true; }
  std::vector<std::string> variants() const override { return {"best", "final"}; }
};

}  // namespace panoramia
