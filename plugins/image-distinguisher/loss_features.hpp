#pragma once
// The image distinguisher's featurizer: per-sample features of a side model's signals (the
// reference uses the scalar loss at the label, docs/method.md §3.4; logit statistics are optional
// extras).

#include <ATen/core/Tensor.h>
#include <panoramia/data.hpp>

namespace panoramia::distinguisher {

struct LossFeatureOptions {
  bool log_loss = true;        // add log(loss)
  bool logit_features = true;  // add margin, max probability and entropy when logits are given
};

/// float32 [n, d]: loss, then log(loss), then (label logit - best other logit, max softmax
/// probability, softmax entropy). Throws when the side signals do not match the samples.
at::Tensor loss_features(const Batch& samples, const SideSignals& side,
                         const LossFeatureOptions& options);

}  // namespace panoramia::distinguisher
