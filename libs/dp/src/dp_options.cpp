#include "dp/dp_options.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace panoramia::dp {

std::vector<OptionSpec> accountant_options() {
  using T = OptionType;
  return {
      option(
          "noise_multiplier", T::kDouble, "1.0",
          "DP-SGD noise standard deviation over the clipping norm (ignored when target_epsilon > "
          "0)")
          .at_least(0),
      option("clip_norm", T::kDouble, "1.0", "DP-SGD per-example gradient clipping norm").above(0),
      option("target_epsilon", T::kDouble, "0",
             "if > 0: choose the noise multiplier so that all epochs spend this epsilon at delta")
          .at_least(0),
      option("delta", T::kDouble, "1e-5", "delta of the reported (epsilon, delta) guarantee")
          .within_below(0, 1)};
}

std::vector<OptionSpec> dp_options(const std::string& clipping, const std::string& norm_note) {
  using T = OptionType;
  std::vector<OptionSpec> specs{option(
      "dp", T::kBool, "false",
      "train with DP-SGD (Poisson batches of expected size batch_size, per-example clipping, "
      "Gaussian noise, then the optimizer and schedule options)" +
          norm_note)};
  for (auto& spec : accountant_options()) specs.push_back(std::move(spec));
  specs.push_back(option("dp_clipping", T::kString, clipping,
                         "per-example clipping: vectorized (per-layer norms from one backward "
                         "pass, then a weighted backward) or loop (one backward pass per example)",
                         {"vectorized", "loop"}));
  specs.push_back(option("dp_physical_batch", T::kInt, "0",
                         "examples per clipping pass, to bound memory (0: the whole Poisson batch "
                         "at once)")
                      .at_least(0));
  return specs;
}

DpOptions dp_options_from(const OptionValues& v) {
  DpOptions o;
  o.noise_multiplier = v.get_double("noise_multiplier");
  o.clip_norm = v.get_double("clip_norm");
  o.target_epsilon = v.get_double("target_epsilon");
  o.delta = v.get_double("delta");
  o.clipping = v.get_string("dp_clipping");
  o.physical_batch = v.get_int("dp_physical_batch");
  if (o.target_epsilon < 0) throw std::invalid_argument("option target_epsilon must be >= 0");
  if (!(o.delta > 0 && o.delta < 1)) throw std::invalid_argument("option delta must be in (0, 1)");
  if (o.physical_batch < 0) throw std::invalid_argument("option dp_physical_batch is negative");
  return o;
}

std::string dp_report_json(const DpReport& r) {
  nlohmann::json j;
  j["mechanism"] = "DP-SGD: Poisson subsampling, per-example clipping, Gaussian noise";
  j["accountant"] =
      "RDP of the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019), converted to "
      "(epsilon, delta) by Balle et al. 2020 Theorem 21 (as Opacus)";
  j["epsilon"] = r.epsilon;
  j["delta"] = r.delta;
  j["rdp_order"] = r.rdp_order;
  j["noise_multiplier"] = r.noise_multiplier;
  j["clip_norm"] = r.clip_norm;
  j["sample_rate"] = r.sample_rate;
  j["expected_batch_size"] = r.expected_batch;
  j["dataset_size"] = r.dataset_size;
  j["steps"] = r.steps;
  j["target_epsilon"] = r.target_epsilon > 0 ? nlohmann::json(r.target_epsilon) : nlohmann::json();
  j["optimizer"] = r.optimizer;
  j["lr"] = r.lr;
  j["clipping"] = r.clipping;
  j["normalization_layers"] = r.norm;
  if (!r.input_statistics.empty()) j["input_statistics"] = r.input_statistics;
  return j.dump(2) + "\n";
}

DpReport dp_report_from_json(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    DpReport r;
    r.epsilon = j.at("epsilon").get<double>();
    r.delta = j.at("delta").get<double>();
    r.rdp_order = j.at("rdp_order").get<double>();
    r.noise_multiplier = j.at("noise_multiplier").get<double>();
    r.clip_norm = j.at("clip_norm").get<double>();
    r.sample_rate = j.at("sample_rate").get<double>();
    r.expected_batch = j.at("expected_batch_size").get<std::int64_t>();
    r.dataset_size = j.at("dataset_size").get<std::int64_t>();
    r.steps = j.at("steps").get<std::int64_t>();
    r.target_epsilon =
        j.at("target_epsilon").is_null() ? 0.0 : j.at("target_epsilon").get<double>();
    r.optimizer = j.at("optimizer").get<std::string>();
    r.lr = j.at("lr").get<double>();
    r.clipping = j.at("clipping").get<std::string>();
    r.norm = j.at("normalization_layers").get<std::string>();
    r.input_statistics = j.value("input_statistics", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("malformed DP report: ") + e.what());
  }
}

}  // namespace panoramia::dp
