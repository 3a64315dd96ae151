// Plugin `zlib-ratio` (Carlini et al., USENIX Security 2021): the side model's loss over the
// zlib-compressed size of the sample's tokens.
#include "score_attack.hpp"
#include "scores.hpp"

namespace {

class ZlibRatio final : public panoramia::attacks::ScoreAttack {
 public:
  ZlibRatio() : ScoreAttack("zlib-ratio") {}
  static std::vector<panoramia::OptionSpec> options() { return {}; }

 private:
  at::Tensor raw_score(const panoramia::AttackData& data, panoramia::Context&) override {
    if (data.samples.modality != "text")
      throw std::invalid_argument(
          "zlib-ratio needs text samples, not " +
          (data.samples.modality.empty() ? std::string("unnamed") : data.samples.modality) +
          " ones");
    return panoramia::attacks::zlib_ratio(side_loss(data),
                                          panoramia::attacks::zlib_lengths(data.samples.x));
  }
};

using Factory = panoramia::attacks::ScoreAttackFactory<ZlibRatio>;

}  // namespace

PANORAMIA_PLUGIN(Factory, "zlib-ratio", "1.0.0", panoramia::kAttack,
                 "zlib ratio (Carlini et al. 2021): the side model's loss over the zlib-compressed "
                 "size of the sample's tokens; text only.")
