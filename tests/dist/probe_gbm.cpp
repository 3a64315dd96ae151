// Probe: the gbm attack's hyper-parameter search with its cross-validation folds split across the
// ranks (TPE, 6 points, 3 folds), refitted and scored on held-out rows. Returns the scores and the
// chosen point's cross-validated loss; they must equal the one-process ones.
#include <torch/torch.h>

#include "../../plugins/gbm/attack.hpp"
#include "context_impl.hpp"
#include "probes.hpp"

namespace panoramia::probes {
namespace {

std::vector<at::Tensor> gbm(Context& outer, std::int64_t) {
  const auto specs = gbm::gbm_options();
  std::map<std::string, std::string> values;
  for (const auto& s : specs) values[s.name] = s.default_value;
  values["budget"] = "6";
  values["startup"] = "3";
  values["folds"] = "3";
  values["threads"] = "1";
  HostContext ctx(OptionValues(specs, values), outer.logger(), 41, outer.work_dir(), torch::kCPU,
                  &outer.communicator());
  auto g = at::make_generator<at::CPUGeneratorImpl>(42);
  const auto members = torch::bernoulli(torch::full({300}, 0.5), g);
  AttackData train;
  train.features = torch::randn({300, 5}, g) + members.unsqueeze(1) * 0.6;
  AttackData test;
  test.features = torch::randn({50, 5}, g);
  gbm::GbmAttack attack;
  attack.fit(train, members, ctx);
  return {attack.score(test, ctx).to(torch::kFloat64),
          torch::tensor({attack.cv_loss()}, torch::kFloat64)};
}

const Register gbm_registered("gbm", gbm);

}  // namespace
}  // namespace panoramia::probes
