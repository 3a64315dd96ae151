#pragma once
// The data stage's cache must notice when the files a reader reads change (issue 15, finding 6: a
// truncated IDX file was ignored and the audit ran on the cached old data). The host cannot know
// how a reader resolves its paths, so it fingerprints what its path options name: a file's name,
// size and modification time (nanoseconds), or, for a directory, those of every regular file
// directly in it, sorted by name (the IDX and CIFAR-10 readers name a directory and files in it).

#include <string>

#include <panoramia/options.hpp>

namespace panoramia {

/// A hex fingerprint of the files behind the path options (`OptionType::kPath`) of `options`;
/// a path that does not exist contributes its name only (the reader reports it when it reads).
std::string input_files_fingerprint(const OptionValues& options);

}  // namespace panoramia
