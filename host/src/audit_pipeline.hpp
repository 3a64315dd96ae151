#pragma once
// Internal: the stages of one audit (see pipeline.hpp for the overview).

#include <deque>
#include <map>
#include <memory>

#include <panoramia/interfaces.hpp>
#include <panoramia/torch_compat.hpp>

#include "config.hpp"
#include "context_impl.hpp"
#include "plugin_registry.hpp"
#include "repetitions.hpp"
#include "results_db.hpp"
#include "stage_cache.hpp"
#include "stats/o1.hpp"
#include "stats/summary.hpp"

namespace panoramia {

/// Row indices of the pools drawn from the data.
struct Split {
  at::Tensor target_train, target_validation;       // the target's training and validation sets
  at::Tensor generator, attack_train, attack_test;  // disjoint parts of target_train
  at::Tensor canaries;   // O(1): drawn from the held-out data, each trained on with probability 1/2
  at::Tensor canary_in;  // int64 [m]: 1 when the canary is in the target's training set
  std::string key;
};

/// A labelled set for the attacks: samples, membership (1 real member, 0 generated).
struct AttackSet {
  Batch samples;
  at::Tensor is_member;  // float32 [n]
};

/// What an audit records with its run besides the first repetition's summary.
struct AuditRecords {
  std::vector<MetricRecord> metrics;  // the real-non-member game, O(1), f-DP, closeness
  std::vector<ScoreColumn> scores;
  std::vector<Repetition> repetitions;
  std::vector<PreviewRecord> previews;
  std::vector<CurveRecord> curves;  // the listed attacks' curves (attacks/NAME/...)
};

class AuditPipeline {
 public:
  /// The device `[audit] device` chooses for a rank: the CPU, or the CUDA device of its local rank
  /// (launch sets LOCAL_RANK; -1 counts as 0) modulo the GPUs visible. Throws UserError for cuda
  /// without a usable device. Resolved once per audit (before joining the ranks) and handed to the
  /// constructor.
  static c10::Device device_for(const ResolvedConfig& config, int local_rank);

  AuditPipeline(const ResolvedConfig& config, const PluginRegistry& registry,
                std::filesystem::path workdir, StageCache& cache,
                std::shared_ptr<spdlog::logger> logger, Communicator& communicator,
                ThreadPolicy threads, c10::Device device);

  /// Runs every stage, once per repetition of `[repeat]` (target seeds × game seeds; the first is
  /// the configured audit). Returns the first repetition's summary of the generated-non-member
  /// game; its real-non-member game and O(1) audit (when configured) add their metrics and scores
  /// with the prefixes "real/" and "o1/". `records.repetitions` gets every repetition's metrics
  /// (the first included), labelled t<i>g<j>. A killed grid resumes at the first unfinished
  /// repetition: each repetition's stages are cached under keys that include its seeds.
  /// `records.previews` gets the reader's previews of real and generated samples.
  stats::AuditSummary run(AuditRecords& records);

 private:
  HostContext& context(const std::string& section, const std::string& stage,
                       const std::filesystem::path& work_dir);
  std::string plugin_key(const std::string& section) const;
  /// The bf16 autocast of a training stage under [audit] precision = bf16 (null for fp32); held
  /// for the duration of the plugin's fit.
  std::unique_ptr<torch_compat::AutocastGuard> training_precision() const;
  /// The seed a section's stages derive from: the audit seed, except for the target, helper (and
  /// generator, when repeated) of a target repetition > 0 and the attacks of a game repetition > 0.
  std::uint64_t section_seed(const std::string& section) const;
  /// One game on the current models: the generated-non-member game, the real one and O(1).
  /// `curves` gets the listed attacks' curves of the generated game.
  stats::AuditSummary play_game(std::vector<MetricRecord>& metrics,
                                std::vector<ScoreColumn>& scores, std::vector<CurveRecord>& curves,
                                std::vector<PreviewRecord>& previews);

  void load_data();
  void split_data();
  void generate();
  void train_target();
  void train_helper();
  void build_game();
  void compute_signals();
  /// One attack (`section`: "attack" or "attack:NAME") with one side model: fits on `train_set`,
  /// scores `test_set`. `seconds` gets the time of featurizing, fitting and scoring (as computed,
  /// also when the scores come from the cache).
  std::vector<double> attack(const std::string& section, const std::string& side,
                             const std::string& train_set, const std::string& test_set,
                             double& seconds);
  /// The game on `test_set` for every attack of the audit. Returns the `[attack]` plugin's
  /// summary; the listed attacks' summaries go to `metrics` under "attacks/NAME/<prefix>...",
  /// each attack's time under "<...>audit" `attack_seconds`, and, unless `curves` is null, their
  /// curves under "attacks/NAME/...".
  stats::AuditSummary play(const std::string& prefix, const std::string& train_set,
                           const std::string& test_set, std::vector<ScoreColumn>& scores,
                           std::vector<MetricRecord>& metrics, std::vector<CurveRecord>* curves);
  void o1(std::vector<MetricRecord>& metrics, std::map<std::string, double>& eps_lb) const;
  void fdp(const std::vector<double>& losses, const std::vector<int>& member,
           const stats::O1Options& o1, double delta, const std::string& variant,
           std::vector<MetricRecord>& metrics) const;
  /// The data stage's reader, made on a cached run too (for `describe_generator`).
  void make_reader(const std::filesystem::path& work_dir);
  /// The reader's previews of real and generated samples and its closeness measures (metrics of
  /// the attack "generator").
  void describe_generator(std::vector<MetricRecord>& metrics,
                          std::vector<PreviewRecord>& previews) const;

  const ResolvedConfig& config_;
  const PluginRegistry& registry_;
  std::filesystem::path workdir_;
  StageCache& cache_;
  std::shared_ptr<spdlog::logger> logger_;
  Communicator& communicator_;
  std::uint64_t seed_;
  // The current repetition (0, 0 is the configured audit) and the seeds it draws from.
  std::int64_t target_rep_ = 0, game_rep_ = 0;
  std::uint64_t model_seed_ = 0, attack_seed_ = 0;
  bool repeat_generator_ = false;
  c10::Device device_;
  /// [audit] precision = bf16: the generator's, target's and helpers' fits run under bf16
  /// autocast on device_ (and their cache keys say so).
  bool bf16_training_ = false;
  ThreadPolicy threads_;
  stats::SweepOptions sweep_options_;  // [audit]'s threshold mode, bound search and confidence
  stats::O1Options o1_options_;        // [o1]
  std::deque<std::unique_ptr<HostContext>> contexts_;  // outlive every plugin object

  std::shared_ptr<DatasetReader> reader_;
  HostContext* reader_context_ = nullptr;
  Batch data_;
  std::string data_key_, fingerprint_;
  Split split_;
  Batch synthetic_;
  std::int64_t n_helper_ = 0;
  std::string generator_key_;
  std::shared_ptr<TargetAdapter> target_;
  std::string target_key_;
  // Helper 1 (the baseline's side model), then the reference models 2..K of `[helper] count`.
  std::vector<std::shared_ptr<TargetAdapter>> helpers_;
  std::vector<std::string> helper_keys_;
  std::int64_t helper_count_ = 1;
  std::vector<std::string> variants_;
  // Named sets: "train"/"test" (generated non-members), "real-train"/"real-test" (real held-out
  // non-members), "canaries" (O(1)).
  std::map<std::string, AttackSet> sets_;
  std::string game_key_, signals_key_;
  // Side signals per side ("baseline", "mia_<variant>", "reference_<k>" for helper k >= 2) and
  // set.
  std::map<std::string, std::map<std::string, SideSignals>> signals_;
};

}  // namespace panoramia
