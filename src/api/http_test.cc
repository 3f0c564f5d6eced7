#include "api/http.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

ParseState Parse(std::string_view text, HttpRequest* r, ParseError* err = nullptr,
                 Limits limits = {}) {
  size_t used = 0;
  ParseError e;
  ParseState s = ParseRequest(text, limits, r, &used, err ? err : &e);
  if (s == ParseState::kDone) {
    EXPECT_LE(used, text.size());
  }
  return s;
}

TEST(ApiHttp, ParsesRequestLineHeadersAndBody) {
  HttpRequest r;
  std::string text =
      "POST /v1/reload?why=test HTTP/1.1\r\nHost: berthd\r\nContent-Length: 4\r\n"
      "X-Thing:   spaced  \r\n\r\nbodyEXTRA";
  size_t used = 0;
  ParseError err;
  ASSERT_EQ(ParseRequest(text, {}, &r, &used, &err), ParseState::kDone);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/reload");
  EXPECT_EQ(r.query, "why=test");
  EXPECT_EQ(r.minor_version, 1);
  EXPECT_EQ(r.Header("host"), "berthd");
  EXPECT_EQ(r.Header("x-thing"), "spaced");
  EXPECT_EQ(r.body, "body");
  EXPECT_EQ(used, text.size() - 5);
}

TEST(ApiHttp, Http10WithoutHeadersOrLength) {
  HttpRequest r;
  ASSERT_EQ(Parse("GET /v1/status HTTP/1.0\r\n\r\n", &r), ParseState::kDone);
  EXPECT_EQ(r.minor_version, 0);
  EXPECT_EQ(r.path, "/v1/status");
  EXPECT_TRUE(r.body.empty());
}

TEST(ApiHttp, IncompleteUntilHeadAndBodyArrive) {
  HttpRequest r;
  std::string full = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(Parse(full.substr(0, n), &r), ParseState::kIncomplete) << n;
  }
  EXPECT_EQ(Parse(full, &r), ParseState::kDone);
}

TEST(ApiHttp, MalformedRequestsAreBad) {
  for (std::string_view text : {
           "GET\r\n\r\n",
           "GET /x\r\n\r\n",
           "GET x HTTP/1.1\r\n\r\n",
           "GET /x HTTP/1.1 extra\r\n\r\n",
           "GET /x HTTX/1.1\r\n\r\n",
           "G(T /x HTTP/1.1\r\n\r\n",
           "GET /x HTTP/1.1\r\nno colon\r\n\r\n",
           "GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n",
           "GET /x HTTP/1.1\r\n folded: v\r\n\r\n",
           "GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "GET /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
           "GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       }) {
    HttpRequest r;
    ParseError err;
    EXPECT_EQ(Parse(text, &r, &err), ParseState::kBad) << text;
    EXPECT_EQ(err.status, 400) << text;
  }
  // Binary garbage is refused before any head is complete.
  HttpRequest r;
  ParseError err;
  EXPECT_EQ(Parse(std::string_view("\x16\x03\x01\x00", 4), &r, &err), ParseState::kBad);
}

TEST(ApiHttp, UnsupportedVersionAndChunkedEncoding) {
  HttpRequest r;
  ParseError err;
  EXPECT_EQ(Parse("GET /x HTTP/2.0\r\n\r\n", &r, &err), ParseState::kUnsupported);
  EXPECT_EQ(err.status, 505);
  EXPECT_EQ(Parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r, &err),
            ParseState::kUnsupported);
  EXPECT_EQ(err.status, 501);
}

TEST(ApiHttp, OversizedHeadAndBody) {
  Limits limits;
  limits.max_head = 64;
  limits.max_body = 10;
  HttpRequest r;
  ParseError err;
  std::string big_head = "GET /x HTTP/1.1\r\nX: " + std::string(100, 'a');
  EXPECT_EQ(Parse(big_head, &r, &err, limits), ParseState::kTooLarge);
  EXPECT_EQ(err.status, 431);
  EXPECT_EQ(Parse("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n", &r, &err, limits),
            ParseState::kTooLarge);
  EXPECT_EQ(err.status, 413);
  EXPECT_EQ(
      Parse("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", &r, &err, limits),
      ParseState::kBad);
  EXPECT_EQ(Parse("POST /x HTTP/1.1\r\nContent-Length: 9999999999999999\r\n\r\n", &r, &err, limits),
            ParseState::kTooLarge);
  EXPECT_EQ(Parse("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", &r, &err, limits),
            ParseState::kDone);
}

TEST(ApiHttp, ResponseRoundTrip) {
  HttpResponse out{404, "{\"error\":\"x\"}\n"};
  out.headers.emplace_back("Allow", "GET");
  std::string text = FormatResponse(out, 0);
  EXPECT_EQ(text.rfind("HTTP/1.0 404 Not Found\r\n", 0), 0u) << text;
  EXPECT_NE(text.find("Connection: close\r\n"), std::string::npos);
  HttpResponse in;
  ASSERT_EQ(ParseResponse(text, false, &in), ParseState::kDone);
  EXPECT_EQ(in.status, 404);
  EXPECT_EQ(in.body, out.body);
  EXPECT_EQ(in.content_type, "application/json");
  ASSERT_EQ(in.headers.size(), 1u);
  EXPECT_EQ(in.headers[0].first, "allow");
  // Cut short: more is needed, or the response is broken when nothing more comes.
  EXPECT_EQ(ParseResponse(text.substr(0, text.size() - 1), false, &in), ParseState::kIncomplete);
  EXPECT_EQ(ParseResponse(text.substr(0, text.size() - 1), true, &in), ParseState::kBad);
  EXPECT_EQ(ParseResponse("garbage\r\n\r\n", true, &in), ParseState::kBad);
  // Without a length the body runs to the end of the stream.
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\n\r\nabc", false, &in), ParseState::kIncomplete);
  ASSERT_EQ(ParseResponse("HTTP/1.1 200 OK\r\n\r\nabc", true, &in), ParseState::kDone);
  EXPECT_EQ(in.body, "abc");
}

TEST(ApiHttp, FormattedRequestParses) {
  std::string text = FormatRequest("POST", "/v1/reload", "{}");
  HttpRequest r;
  ASSERT_EQ(Parse(text, &r), ParseState::kDone);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/reload");
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.Header("connection"), "close");
}

}  // namespace
}  // namespace berth::api
