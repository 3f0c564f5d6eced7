// Client::Watch: one streaming POST /v3/watch, driven through a curl multi handle so that the
// stop flag is looked at every 100 ms however quiet the stream is. The stream is newline-
// delimited JSON, one WatchResponse per line ({"result":{...}}); the first says "created".
#include <chrono>
#include <memory>

#include "etcd/client_impl.h"

namespace berth::etcd {
namespace {

using Clock = std::chrono::steady_clock;
using OnEvents = std::function<bool(int64_t, const std::vector<WatchEvent>&)>;

constexpr int kPollMs = 100;

struct CurlMultiFree {
  void operator()(CURLM* m) const { Curl().multi_cleanup(m); }
};

// What one watch stream has said so far; fed by curl's write callback.
struct Stream {
  Stream(const KeySpace& k, const OnEvents& f, CurlRequest& r) : keys(k), on_events(f), req(r) {}

  const KeySpace& keys;
  const OnEvents& on_events;
  CurlRequest& req;
  std::string pending;      // an incomplete line
  bool created = false;
  bool done = false;        // the watch is over; `result` says how
  Status result;
  int64_t compact_revision = 0;

  void Finish(Status st) {
    done = true;
    result = std::move(st);
  }

  void Handle(std::string_view line) {
    auto m = codec::DecodeWatchMessage(line, keys);
    if (!m.ok()) return Finish(std::move(m).error());
    if (m->error) return Finish(*std::move(m->error));
    if (m->created) created = true;
    if (m->canceled) {
      if (m->compact_revision > 0) {
        compact_revision = m->compact_revision;
        return Finish(Error::NotFound("compacted"));
      }
      return Finish(Error::Invalid("etcd canceled the watch: " + m->cancel_reason));
    }
    // Resuming from the last event's revision + 1 loses nothing: etcd never splits one
    // revision's events over two messages (the header's revision may be ahead of events that
    // are still to come while a watch catches up).
    if (!m->events.empty() && !on_events(m->events.back().kv.mod_revision, m->events))
      Finish(Ok());
  }

  static size_t OnData(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Stream*>(user);
    if (s->done) return 0;  // ends the transfer
    if (s->req.Status() != 200) {  // a refusal: its body is one JSON error, read it whole
      s->req.answer.append(data, size * n);
      return size * n;
    }
    s->pending.append(data, size * n);
    size_t nl;
    while (!s->done && (nl = s->pending.find('\n')) != std::string::npos) {
      std::string line = s->pending.substr(0, nl);
      s->pending.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") != std::string::npos) s->Handle(line);
    }
    return s->done ? 0 : size * n;
  }
};

enum class Ended { kDone, kStopped, kNoAnswer, kTransferEnded };

// Runs the stream until it is done, `stop`, the transfer ends, or nothing was created within
// `create_ms` (*rc says why the transfer ended).
Result<Ended> Run(CurlRequest& req, Stream& s, const std::atomic<bool>& stop, int create_ms,
                  CURLcode* rc) {
  std::unique_ptr<CURLM, CurlMultiFree> multi(Curl().multi_init());
  if (!multi) return Error::Internal("etcd: curl_multi_init failed");
  Curl().multi_add_handle(multi.get(), req.easy.get());
  const auto create_by = Clock::now() + std::chrono::milliseconds(create_ms);
  Ended ended = Ended::kNoAnswer;
  while (true) {
    int running = 0;
    Curl().multi_perform(multi.get(), &running);
    if (s.done) {
      ended = Ended::kDone;
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* msg = Curl().multi_info_read(multi.get(), &left))
        if (msg->msg == CURLMSG_DONE) *rc = msg->data.result;
      ended = Ended::kTransferEnded;
      break;
    }
    if (stop.load()) {
      ended = Ended::kStopped;
      break;
    }
    if (!s.created && Clock::now() > create_by) {
      *rc = CURLE_OPERATION_TIMEDOUT;
      ended = Ended::kNoAnswer;
      break;
    }
    Curl().multi_poll(multi.get(), nullptr, 0, kPollMs, nullptr);
  }
  Curl().multi_remove_handle(multi.get(), req.easy.get());
  return ended;
}

}  // namespace

Status Client::Watch(const std::string& prefix, int64_t from_revision,
                     const OnEvents& on_events, const std::atomic<bool>& stop) {
  Impl& impl = *impl_;
  const std::string request =
      codec::WatchCreateRequest(impl.keys.Full(prefix), from_revision).dump();
  std::vector<std::string> failures;
  const size_t start = impl.transport.first();
  for (size_t k = 0; k < impl.transport.size(); ++k) {
    size_t i = (start + k) % impl.transport.size();
    BERTH_ASSIGN_OR_RETURN(auto req,
                           impl.transport.NewRequest(i, "/v3/watch", request, /*streaming=*/true));
    Stream s(impl.keys, on_events, *req);
    Curl().easy_setopt(req->easy.get(), CURLOPT_WRITEFUNCTION, &Stream::OnData);
    Curl().easy_setopt(req->easy.get(), CURLOPT_WRITEDATA, &s);
    CURLcode rc = CURLE_OK;
    BERTH_ASSIGN_OR_RETURN(Ended ended, Run(*req, s, stop, impl.options.timeout_ms, &rc));
    if (ended == Ended::kStopped) return Ok();
    long status = req->Status();
    if (status == 0 && !s.created) {  // nobody answered here: the next endpoint
      failures.push_back(req->endpoint + ": " + req->Describe(rc));
      continue;
    }
    impl.transport.Answered(i);
    if (ended == Ended::kDone) {
      if (s.compact_revision > 0) impl.compact_revision.store(s.compact_revision);
      return std::move(s.result);
    }
    if (status != 200) return codec::AnswerError(status, req->answer);
    if (ended == Ended::kNoAnswer)
      return Error::Unavailable("etcd watch on " + req->endpoint + ": not created in time");
    return Error::Unavailable("etcd watch on " + req->endpoint + " ended: " +
                              (rc == CURLE_OK ? std::string("closed by etcd") : req->Describe(rc)));
  }
  return Transport::NoneAnswered(failures);
}

}  // namespace berth::etcd
