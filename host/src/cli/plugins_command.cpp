// `panoramia plugins list|show`: the loaded plugins, their refusals and their options.
#include <iostream>

#include <panoramia/plugin.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "plugin_error.hpp"
#include "plugin_registry.hpp"

namespace panoramia::cli {

int cmd_plugins(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("action", po::value<std::string>(), "list or show")(
      "name", po::value<std::string>(), "plugin name (for show)");
  po::positional_options_description pos;
  pos.add("action", 1).add("name", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help") || !vm.count("action")) {
    std::cout << "usage: panoramia plugins list | plugins show NAME [--plugin-path DIR]\n" << opts;
    return vm.count("help") ? 0 : 2;
  }
  PluginRegistry registry;
  registry.load_directory(PluginRegistry::bundled_dir());
  if (vm.count("plugin-path"))
    for (const auto& p : vm["plugin-path"].as<std::vector<std::string>>())
      registry.load_directory(p);
  const std::string action = vm["action"].as<std::string>();
  const Kind kinds[] = {kDatasetReader, kGenerator, kTarget, kFeaturizer, kAttack};
  if (action == "list") {
    for (const auto& [name, p] : registry.plugins()) {
      std::string provided;
      for (Kind k : kinds) {
        if (!p.provides(k)) continue;
        if (!provided.empty()) provided += ',';
        provided += kind_name(k);
      }
      std::printf("%-22s %-8s %-34s %s\n", name.c_str(), p.version.c_str(), provided.c_str(),
                  p.path.string().c_str());
    }
    for (const auto& refusal : registry.refusals()) std::cerr << refusal << "\n";
    return 0;
  }
  if (action != "show") throw UserError("plugins: unknown action '" + action + "' (list, show)");
  if (!vm.count("name")) throw UserError("plugins show: missing NAME");
  const std::string name = vm["name"].as<std::string>();
  const auto* p = registry.find(name);
  if (p == nullptr) throw UserError("no plugin named '" + name + "' is loaded");
  std::cout << p->name << " " << p->version << "  (" << p->path.string() << ")\n"
            << p->description << "\n";
  for (Kind k : kinds) {
    if (!p->provides(k)) continue;
    std::cout << "\n" << kind_name(k) << " options:\n";
    for (const auto& o : registry.options(name, k)) {
      std::string def =
          o.required ? "(required)" : "= " + (o.default_value.empty() ? "\"\"" : o.default_value);
      const std::string help = o.range ? o.help + " (" + o.range->describe() + ")" : o.help;
      std::printf("  %-22s %-10s %-22s %s\n", o.name.c_str(), option_type_name(o.type), def.c_str(),
                  help.c_str());
    }
  }
  return 0;
}

}  // namespace panoramia::cli
