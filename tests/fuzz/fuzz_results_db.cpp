// The results database as the read-only commands read it (`runs`, `show`, `export --csv|--json`,
// `report`, `compare`): any file, a foreign or corrupted SQLite file included, gives their output
// or one sentence. gnuplot is kept out of reach (PATH is emptied), so the report is its page
// without plots: the reading and the escaping of every stored string (the previews included, also
// for a run without measurements, whose report is refused), not the drawing.
#include <cstdlib>
#include <sstream>

#include "fuzz_input.hpp"
#include "report/report.hpp"
#include "results_db.hpp"
#include "results_io.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::setenv("PATH", "/nonexistent", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fuzz = panoramia::fuzz;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = fuzz::write_input("results.db", bytes);
  try {
    const panoramia::ResultsDb db(file, panoramia::DbAccess::kReadOnly);
    std::vector<std::int64_t> ids;
    for (const auto& run : db.runs()) {
      if (ids.size() == 3) break;  // a few runs show every path; more only slow the fuzzer
      ids.push_back(run.id);
      (void)panoramia::format_run(db, run.id);
      (void)panoramia::run_to_json(db, run.id);
      std::ostringstream csv;
      panoramia::write_reference_csv(db.scores(run.id), csv);
      (void)db.previews(run.id);
      panoramia::report::write_report(db, run.id, fuzz::scratch_dir() / "report.html");
    }
    if (!ids.empty()) (void)panoramia::report::compare_table(db, ids, {});
  } catch (const std::exception& e) {
    fuzz::expect_message(e);
  }
  return 0;
}
