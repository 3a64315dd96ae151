#include "attack.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

namespace panoramia::gbm {
namespace {

enum Dim { kDepth, kLeaves, kTrees, kRate, kChildWeight, kClassWeight };

std::vector<Dimension> search_space(const OptionValues& o) {
  auto ints = [&](const char* name) {
    std::vector<double> v;
    for (auto i : o.get_int_list(name)) {
      if (i <= 0)
        throw std::invalid_argument(std::string("option '") + name +
                                    "' must list positive integers");
      v.push_back(double(i));
    }
    if (v.empty()) throw std::invalid_argument(std::string("option '") + name + "' is empty");
    return v;
  };
  auto doubles = [&](const char* name) {
    auto v = o.get_double_list(name);
    if (v.empty()) throw std::invalid_argument(std::string("option '") + name + "' is empty");
    return v;
  };
  std::vector<double> class_weight;
  for (const auto& w : o.get_string_list("class_weight")) {
    if (w != "none" && w != "balanced")
      throw std::invalid_argument("option 'class_weight' lists '" + w + "' (none, balanced)");
    class_weight.push_back(w == "balanced" ? 1.0 : 0.0);
  }
  if (class_weight.empty()) throw std::invalid_argument("option 'class_weight' is empty");
  return {{"max_depth", ints("max_depth")},
          {"max_leaves", ints("max_leaves")},
          {"n_estimators", ints("n_estimators")},
          {"learning_rate", doubles("learning_rate")},
          {"min_child_weight", doubles("min_child_weight")},
          {"class_weight", class_weight}};
}

BoosterParams params_of(const std::vector<Dimension>& space, const Point& p, double balance,
                        std::uint64_t seed, int threads) {
  BoosterParams b;
  b.max_depth = static_cast<int>(space[kDepth].values[p[kDepth]]);
  b.max_leaves = static_cast<int>(space[kLeaves].values[p[kLeaves]]);
  b.rounds = static_cast<int>(space[kTrees].values[p[kTrees]]);
  b.learning_rate = space[kRate].values[p[kRate]];
  b.min_child_weight = space[kChildWeight].values[p[kChildWeight]];
  b.scale_pos_weight = space[kClassWeight].values[p[kClassWeight]] > 0 ? balance : 1.0;
  b.seed = seed;
  b.threads = threads;
  return b;
}

Metric metric_of(const std::string& name) {
  if (name == "auc") return Metric::kAuc;
  if (name == "logloss") return Metric::kLogLoss;
  return Metric::kAccuracy;
}

}  // namespace

std::vector<OptionSpec> gbm_options() {
  using T = OptionType;
  return {
      option("search", T::kString, "tpe", "hyper-parameter search: tpe or random",
             {"tpe", "random"}),
      option("budget", T::kInt, "100",
             "points evaluated by the search (the reference evaluated 200; 1: no search)")
          .at_least(1),
      option("startup", T::kInt, "10", "random points before TPE models the results"),
      option("folds", T::kInt, "3", "cross-validation folds scoring each point").at_least(2),
      option("metric", T::kString, "accuracy", "cross-validation score: accuracy, auc or logloss",
             {"accuracy", "auc", "logloss"}),
      option("max_depth", T::kIntList, "1,2,3,4,5", "candidate tree depths"),
      option("max_leaves", T::kIntList, "20,30,40,50,60,70,80,90", "candidate leaves per tree"),
      option("n_estimators", T::kIntList, "10,20,30,40,50,75,100,125,150,175,200",
             "candidate numbers of trees")
          .at_least(1),
      option("learning_rate", T::kDoubleList, "0.3,0.1,0.05,0.01,0.005,0.001,0.0005,0.0001",
             "candidate learning rates")
          .above(0),
      option("min_child_weight", T::kDoubleList, "1,5,20",
             "candidate minimum hessian sums per leaf")
          .at_least(0),
      option("class_weight", T::kString, "none,balanced",
             "candidate class weightings: none, balanced (comma-separated)"),
      option("threads", T::kInt, "0",
             "XGBoost threads (0: as the host's rule gives for the work of a round)")};
}

void GbmAttack::fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) {
  const auto& o = ctx.options();
  const auto x = train.features.to(torch::kFloat32).contiguous();
  const auto y = is_member.to(torch::kFloat32).reshape({-1}).contiguous();
  if (x.dim() != 2 || x.size(0) != y.size(0))
    throw std::invalid_argument("attack features must be [n, d] and aligned with the labels");
  const auto space = search_space(o);
  // A boosting round builds a histogram per tree level: an add and a compare per row and feature
  // (for the deepest candidate tree). Small sets spend more on waking XGBoost's threads for every
  // node than the threads save: on the Adult audit's attack sets, one thread ran the three attack
  // stages in 46 s, two threads in 200 s.
  const auto& depths = space[kDepth].values;
  const double deepest = depths.empty() ? 1.0 : *std::max_element(depths.begin(), depths.end());
  const int threads =
      o.get_int("threads") > 0
          ? static_cast<int>(o.get_int("threads"))
          : ctx.loop_threads("gbm boosting", 2.0 * double(x.size(0)) * double(x.size(1)) * deepest);
  const double positives = y.sum().item<double>();
  const double balance = positives > 0 ? (double(y.size(0)) - positives) / positives : 1.0;
  const std::uint64_t seed = ctx.seed();
  auto& rng = ctx.rng();
  const int budget = static_cast<int>(std::max<std::int64_t>(1, o.get_int("budget")));
  const Metric metric = metric_of(o.get_string("metric"));

  Point best_point;
  if (budget == 1) {
    best_point = random_point(space, rng);
  } else {
    const int k = static_cast<int>(o.get_int("folds"));
    const auto folds = stratified_folds(y, k, rng);
    const auto fold_t = torch::tensor(std::vector<int64_t>(folds.begin(), folds.end()));
    // Several ranks split each point's folds (fold f on rank f mod world size) and exchange the
    // fold losses, so every rank sums the same values in the same order and takes the same search
    // decisions as one process. The boosters themselves are not split by rows.
    auto& comm = ctx.communicator();
    const auto mine = [&](int f) { return f % comm.world_size() == comm.rank(); };
    std::vector<std::unique_ptr<DMatrix>> fit_sets(k), held_sets(k);
    std::vector<torch::Tensor> held_labels(k);
    for (int f = 0; f < k; ++f) {
      if (!mine(f)) continue;
      const auto in = (fold_t != f).nonzero().reshape({-1});
      const auto out = (fold_t == f).nonzero().reshape({-1});
      fit_sets[f] = std::make_unique<DMatrix>(x.index_select(0, in), y.index_select(0, in));
      held_sets[f] = std::make_unique<DMatrix>(x.index_select(0, out));
      held_labels[f] = y.index_select(0, out);
    }
    TpeOptions tpe;
    tpe.startup = static_cast<int>(o.get_int("startup"));
    const bool use_tpe = o.get_string("search") == "tpe";
    std::vector<Trial> trials;
    std::map<Point, double> cache;
    auto progress = ctx.progress("gbm hyper-parameter search", budget);
    double best = std::numeric_limits<double>::infinity();
    for (int t = 0; t < budget; ++t) {
      const Point p = use_tpe ? tpe_point(space, trials, tpe, rng) : random_point(space, rng);
      auto it = cache.find(p);
      if (it == cache.end()) {
        const auto params = params_of(space, p, balance, seed, threads);
        std::vector<double> losses(static_cast<std::size_t>(k), 0.0);
        for (int f = 0; f < k; ++f) {
          if (!mine(f)) continue;
          Booster b(params, *fit_sets[f]);
          losses[f] = metric_loss(metric, b.predict(*held_sets[f]), held_labels[f]);
        }
        losses = sum_over_ranks(comm, std::move(losses));
        double total = 0;
        for (int f = 0; f < k; ++f) total += losses[f];
        it = cache.emplace(p, total / k).first;
      }
      trials.push_back({p, it->second});
      if (it->second < best) {
        best = it->second;
        best_point = p;
      }
      progress->advance(
          1, "best cv " + o.get_string("metric") + " loss " + std::to_string(best).substr(0, 6));
    }
    progress->finish();
    cv_loss_ = best;
    ctx.logger()->info("gbm: {} points ({} distinct), best {}-fold {} loss {:.4f}", budget,
                       cache.size(), k, o.get_string("metric"), best);
  }
  chosen_ = params_of(space, best_point, balance, seed, threads);
  const DMatrix all(x, y);
  booster_ = std::make_unique<Booster>(chosen_, all);
  ctx.logger()->info("gbm: refitted on {} samples with {}", x.size(0), chosen_.describe());
}

at::Tensor GbmAttack::score(const AttackData& data, Context&) {
  if (!booster_) throw std::logic_error("score() before fit()");
  const DMatrix m(data.features.to(torch::kFloat32));
  return booster_->predict(m);
}

}  // namespace panoramia::gbm
