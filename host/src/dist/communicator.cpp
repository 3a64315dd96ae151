#include "dist/communicator.hpp"

#include "dist/nccl_group.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace panoramia::dist {
namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

// The address of this machine's interface that routes to `host` (IPv4 address or name), or "" when
// there is none: a UDP socket connected to it picks the route and sends nothing. Gloo listens on
// that address, so ranks on other hosts (or other network namespaces) reach each other without
// naming an interface; the machine's host name may resolve to an address the others cannot reach.
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    return "";
  std::string local;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd >= 0) {
    sockaddr_in self{};
    socklen_t len = sizeof(self);
    char text[INET_ADDRSTRLEN] = {};
    if (::connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) == 0 &&
        ::inet_ntop(AF_INET, &self.sin_addr, text, sizeof(text)) != nullptr)
      local = text;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return local;
}

class GlooCommunicator;

struct Done final : Communicator::Pending {
  void wait() override {}
};

// Waits for several collectives.
struct All final : Communicator::Pending {
  std::vector<std::unique_ptr<Communicator::Pending>> parts;
  void wait() override {
    for (auto& p : parts) p->wait();
  }
};

// Waits for the sum of a flat buffer, then copies its pieces back into the tensors it was made of.
class Unflatten final : public Communicator::Pending {
 public:
  Unflatten(std::unique_ptr<Communicator::Pending> work, at::Tensor flat,
            std::vector<at::Tensor> tensors)
      : work_(std::move(work)), flat_(std::move(flat)), tensors_(std::move(tensors)) {}
  void wait() override {
    work_->wait();
    std::int64_t offset = 0;
    for (auto& t : tensors_) {
      t.copy_(flat_.slice(0, offset, offset + t.numel()).view_as(t));
      offset += t.numel();
    }
  }

 private:
  std::unique_ptr<Communicator::Pending> work_;
  at::Tensor flat_;
  std::vector<at::Tensor> tensors_;
};

class GlooPending final : public Communicator::Pending {
 public:
  GlooPending(const GlooCommunicator& owner, c10::intrusive_ptr<c10d::Work> work, std::string op)
      : owner_(owner), work_(std::move(work)), op_(std::move(op)) {}
  void wait() override;

 private:
  const GlooCommunicator& owner_;
  c10::intrusive_ptr<c10d::Work> work_;
  std::string op_;
};

class GlooCommunicator final : public Communicator {
 public:
  explicit GlooCommunicator(const Options& o) : options_(o) {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(o.master_port);
    store_options.isServer = o.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(o.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = o.timeout;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(o.master_host, store_options);
      auto pg_options = c10d::ProcessGroupGloo::Options::create(o.timeout);
      if (const char* iface = std::getenv("PANORAMIA_GLOO_IFNAME"); iface != nullptr && *iface)
        pg_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
      else if (is_loopback(o.master_host))
        pg_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else if (const auto local = local_address_towards(o.master_host, o.master_port);
               !local.empty())
        pg_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(local));
      else
        pg_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      pg_options->threads = 2;
      group_ =
          c10::make_intrusive<c10d::ProcessGroupGloo>(store_, o.rank, o.world_size, pg_options);
      if (o.cuda_device >= 0 && nccl_available())
        nccl_ = make_nccl_group(store_, o.rank, o.world_size, o.timeout, o.cuda_device);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format(
          "rank {} of {} could not join the ranks at {}:{} within {} s: {}", o.rank, o.world_size,
          o.master_host, o.master_port, o.timeout.count() / 1000.0, first_line(e.what())));
    }
  }

  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    all_reduce_sum_async(tensors)->wait();
  }

  // c10d's allreduce takes a list of replicas of one tensor (one per local device) and sums them
  // all together; the Communicator sums each tensor on its own. Several tensors of one type travel
  // as one flat buffer (a single collective), copied back into them when the sum is complete.
  std::unique_ptr<Pending> all_reduce_sum_async(std::vector<at::Tensor> tensors) override {
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = options_.timeout;
    if (tensors.empty()) return std::make_unique<Done>();
    const bool one_type = std::all_of(tensors.begin(), tensors.end(), [&](const at::Tensor& t) {
      return t.scalar_type() == tensors[0].scalar_type() && t.device() == tensors[0].device();
    });
    if (!one_type) {
      auto all = std::make_unique<All>();
      for (auto& t : tensors) all->parts.push_back(all_reduce_sum_async({t}));
      return all;
    }
    const auto sum = [&](std::vector<at::Tensor>& parts) {
      return nccl_ && parts[0].is_cuda() ? nccl_->allreduce(parts, opts)
                                         : group_->allreduce(parts, opts);
    };
    if (tensors.size() == 1 && tensors[0].is_contiguous())
      return start("all-reduce", [&] { return sum(tensors); });
    std::vector<at::Tensor> flat_parts;
    for (const auto& t : tensors) flat_parts.push_back(t.reshape({-1}));
    std::vector<at::Tensor> flat{at::cat(flat_parts)};
    auto work = start("all-reduce", [&] { return sum(flat); });
    return std::make_unique<Unflatten>(std::move(work), flat[0], std::move(tensors));
  }

  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      c10d::BroadcastOptions opts;
      opts.rootRank = root;
      opts.timeout = options_.timeout;
      start("broadcast", [&] {
        return nccl_ && t.is_cuda() ? nccl_->broadcast(one, opts) : group_->broadcast(one, opts);
      })->wait();
    }
  }

  void barrier() override {
    c10d::BarrierOptions opts;
    opts.timeout = options_.timeout;
    start("barrier", [&] { return group_->barrier(opts); })->wait();
  }

  std::string failure(const std::string& op, const std::exception& e) const {
    return fmt::format(
        "rank {} of {}: {} failed ({}); another rank probably stopped, or took longer than the "
        "{} s timeout",
        options_.rank, options_.world_size, op, first_line(e.what()),
        options_.timeout.count() / 1000.0);
  }

  std::chrono::milliseconds timeout() const { return options_.timeout; }

 private:
  static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

  template <typename Fn>
  std::unique_ptr<Pending> start(const std::string& op, Fn&& fn) {
    try {
      return std::make_unique<GlooPending>(*this, fn(), op);
    } catch (const std::exception& e) {
      throw std::runtime_error(failure(op, e));
    }
  }

  Options options_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  std::unique_ptr<CudaCollectives> nccl_;  // CUDA ranks, where LibTorch has NCCL
};

void GlooPending::wait() {
  try {
    work_->wait(owner_.timeout());
  } catch (const std::exception& e) {
    throw std::runtime_error(owner_.failure(op_, e));
  }
}

class OwnedSingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(std::vector<at::Tensor>&) override {}
  std::unique_ptr<Pending> all_reduce_sum_async(std::vector<at::Tensor> t) override {
    return SingleProcessCommunicator::instance().all_reduce_sum_async(std::move(t));
  }
  void broadcast(std::vector<at::Tensor>&, int) override {}
  void barrier() override {}
};

}  // namespace

void parse_master(const std::string& text, Options& options) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument("--master '" + text + "' is not HOST:PORT");
  const std::string port = text.substr(colon + 1);
  char* end = nullptr;
  const long value = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || value < 1 || value > 65535)
    throw std::invalid_argument("--master '" + text + "': the port must be 1..65535");
  options.master_host = text.substr(0, colon);
  options.master_port = static_cast<int>(value);
}

bool parse_rank_option(const std::string& key, const std::string& value, Options& options) {
  if (key == "--world")
    options.world_size = std::stoi(value);
  else if (key == "--rank")
    options.rank = std::stoi(value);
  else if (key == "--master")
    parse_master(value, options);
  else
    return false;
  return true;
}

int local_rank() {
  const char* text = std::getenv("LOCAL_RANK");
  if (text == nullptr) return -1;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || value < 0 || value > 65535)
    throw std::invalid_argument(std::string("LOCAL_RANK='") + text +
                                "' is not a local rank index (a non-negative integer)");
  return static_cast<int>(value);
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("cannot open a socket to find a free loopback port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::unique_ptr<Communicator> connect(const Options& options) {
  if (options.world_size < 1) throw std::invalid_argument("--world-size must be at least 1");
  if (options.rank < 0 || options.rank >= options.world_size)
    throw std::invalid_argument(
        fmt::format("--rank {} is not in 0..{}", options.rank, options.world_size - 1));
  if (options.world_size == 1) return std::make_unique<OwnedSingleProcess>();
  return std::make_unique<GlooCommunicator>(options);
}

}  // namespace panoramia::dist
