#pragma once
// The host side of data-parallel audits: joining the ranks (a TCPStore rendezvous at the master,
// then a Gloo process group, and an NCCL one for CUDA ranks) and the Communicator the plugins see.

#include <chrono>
#include <memory>
#include <string>

#include <panoramia/distributed.hpp>

namespace panoramia::dist {

struct Options {
  int world_size = 1;
  int rank = 0;
  std::string master_host = "127.0.0.1";
  int master_port = 29500;
  /// This rank's index among the ranks on its machine (local_rank(): LOCAL_RANK), -1 when unset.
  int local_rank = -1;
  /// The CUDA device this rank's audit computes on, or -1 for a CPU audit. With a device (and a
  /// LibTorch with NCCL) the collectives of CUDA tensors go through a ProcessGroupNCCL; Gloo keeps
  /// the CPU tensors and the barriers.
  int cuda_device = -1;
  /// Rendezvous and every collective give up after this long (a rank that died or hangs).
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
};

/// Parses "HOST:PORT" (IPv4 address or host name, port 1..65535) into `options`; throws
/// std::invalid_argument with one sentence otherwise.
void parse_master(const std::string& text, Options& options);

/// For the probes' and benchmarks' own command lines: applies `--world N`, `--rank R` or
/// `--master HOST:PORT` to `options` and returns true, or returns false for any other key.
bool parse_rank_option(const std::string& key, const std::string& value, Options& options);

/// Joins the process group described by `options` (blocks until every rank has joined or the
/// timeout passes; throws std::runtime_error naming the master then). One rank: no network at all.
std::unique_ptr<Communicator> connect(const Options& options);

/// This rank's index among the ranks on its machine: LOCAL_RANK (set by `launch`, as by torchrun),
/// or -1 when it is unset. A CUDA rank computes on GPU local_rank mod the GPUs visible. Throws
/// std::invalid_argument naming the variable when it is not a non-negative integer.
int local_rank();

/// A loopback TCP port free right now (the OS picks it), for a local rendezvous; throws
/// std::runtime_error when no socket can be bound.
int free_loopback_port();

}  // namespace panoramia::dist
