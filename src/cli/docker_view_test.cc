#include "cli/docker_view.h"

#include <gtest/gtest.h>

#include "core/template.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// The shape of render.h's ContainerJson for a running container on two networks.
const json kContainer = json::parse(R"({
  "id": "0123456789abcdef0123", "name": "web1", "hostname": "web1", "mode": "web", "cni": false,
  "state": "running", "running": true, "pid": 4242, "exit_code": null, "auto_remove": false,
  "command": ["sleep", "100"], "created": 1764628305,
  "netns": {"path": "/run/berth/netns/web1", "inode": 4026532000},
  "networks": {
    "web": {"network_id": "n1", "interface": "eth0", "ip": "10.9.0.2", "prefix_len": 24,
            "mac": "02:42:0a:09:00:02", "gateway": "10.9.0.1", "aliases": ["w"],
            "ports": [{"host_ip": "0.0.0.0", "host_port": 8080, "container_port": 80,
                       "count": 2, "protocol": "tcp"}]},
    "bridge": {"network_id": "n0", "interface": "eth1", "ip": "172.17.0.5", "prefix_len": 16,
               "mac": "02:42:ac:11:00:05", "gateway": "172.17.0.1", "aliases": [], "ports": []}
  }
})");

std::string Render(const std::string& text, const json& doc) {
  auto t = tmpl::Template::Parse(text);
  if (!t.ok()) return t.error().message();
  auto out = t->Execute(doc);
  return out.ok() ? *out : out.error().message();
}

TEST(DockerViewTest, ContainerInspect) {
  json v = DockerContainerView(kContainer);
  EXPECT_EQ(Render("{{.State.Pid}} {{.State.Running}} {{.State.Status}} {{.State.ExitCode}}", v),
            "4242 true running 0");
  EXPECT_EQ(Render("{{.Id}} {{.Name}} {{.Config.Hostname}} {{json .Config.Cmd}}", v),
            "0123456789abcdef0123 /web1 web1 [\"sleep\",\"100\"]");
  EXPECT_EQ(Render("{{.NetworkSettings.Networks.web.IPAddress}} "
                   "{{.NetworkSettings.Networks.web.MacAddress}} "
                   "{{.NetworkSettings.Networks.web.Gateway}}",
                   v),
            "10.9.0.2 02:42:0a:09:00:02 10.9.0.1");
  // The top-level address is the default network's, as docker's.
  EXPECT_EQ(Render("{{.NetworkSettings.IPAddress}}/{{.NetworkSettings.IPPrefixLen}}", v),
            "172.17.0.5/16");
  EXPECT_EQ(Render("{{.NetworkSettings.SandboxKey}} {{.HostConfig.NetworkMode}}", v),
            "/run/berth/netns/web1 web");
  EXPECT_EQ(Render("{{json .NetworkSettings.Ports}}", v),
            R"({"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}],)"
            R"("81/tcp":[{"HostIp":"0.0.0.0","HostPort":"8081"}]})");
  EXPECT_EQ(Render("{{.Created}}", v), "2025-12-01T22:31:45Z");
  // berth's own keys are still there.
  EXPECT_EQ(Render("{{.pid}} {{.state}} {{.networks.web.ip}}", v), "4242 running 10.9.0.2");
}

TEST(DockerViewTest, StoppedContainer) {
  json c = kContainer;
  c["running"] = false;
  c["state"] = "exited";
  c["pid"] = nullptr;
  c["exit_code"] = 3;
  c["networks"] = json::object();
  json v = DockerContainerView(c);
  EXPECT_EQ(Render("{{.State.Pid}} {{.State.ExitCode}} [{{.NetworkSettings.IPAddress}}]", v),
            "0 3 []");
  EXPECT_EQ(Render("{{.Status}} {{.Networks}}", PsRow(c)), "exited (3) web");
  // The networks it gets back on start are still listed, as Docker lists them: no address.
  c["stopped_networks"] = json::parse(R"({
    "web": {"network_id": "n1", "interface": "eth0", "ip": "10.9.0.9", "static_ip": true,
            "mac": "02:42:0a:09:00:09", "aliases": ["w"]},
    "db": {"network_id": "n2", "interface": "eth1", "ip": "", "static_ip": false, "mac": "",
           "aliases": []}})");
  v = DockerContainerView(c);
  EXPECT_EQ(Render("{{range $k, $n := .NetworkSettings.Networks}}{{$k}}=[{{$n.IPAddress}}]"
                   "{{$n.MacAddress}} {{end}}{{.NetworkSettings.Networks.web.IPAMConfig.IPv4Address}}",
                   v),
            "db=[] web=[]02:42:0a:09:00:09 10.9.0.9");
}

TEST(DockerViewTest, PsRow) {
  json r = PsRow(kContainer);
  EXPECT_EQ(Render("{{.ID}}|{{.Names}}|{{.Command}}|{{.Status}}|{{.State}}|{{.Networks}}", r),
            "0123456789ab|web1|\"sleep 100\"|running|running|bridge,web");
  EXPECT_EQ(Render("{{.Ports}}|{{.Pid}}|{{.IPs}}|{{.CreatedAt}}", r),
            "0.0.0.0:8080-8081->80-81/tcp|4242|172.17.0.5,10.9.0.2|2025-12-01 22:31:45 +0000 UTC");
  EXPECT_EQ(PsHeader("ID"), "CONTAINER ID");
  EXPECT_EQ(PsHeader("Names"), "NAMES");
}

TEST(DockerViewTest, Networks) {
  json net = json::parse(R"({"id": "abcdef0123456789", "name": "web", "driver": "bridge",
    "default": false, "subnet": "10.9.0.0/24", "gateway": "10.9.0.1", "ip_range": null,
    "bridge": "br-abcdef012345", "mtu": 1500, "internal": false, "options": {}, "created": 0,
    "containers": [{"name": "web1", "id": "c1", "interface": "eth0", "ip": "10.9.0.2",
                    "prefix_len": 24, "mac": "02:42:0a:09:00:02"}]})");
  json v = DockerNetworkView(net);
  EXPECT_EQ(Render("{{.Name}} {{.Driver}} {{.Scope}} "
                   "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}",
                   v),
            "web bridge local 10.9.0.0/24 10.9.0.1");
  EXPECT_EQ(
      Render("{{range $id, $c := .Containers}}{{$id}} {{$c.Name}} {{$c.IPv4Address}}{{end}}", v),
      "c1 web1 10.9.0.2/24");
  json r = NetworkLsRow(net);
  EXPECT_EQ(Render("{{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.Subnet}}", r),
            "abcdef012345 web bridge local false 10.9.0.0/24");
  EXPECT_EQ(NetworkLsHeader("ID"), "NETWORK ID");
}

}  // namespace
}  // namespace berth::cli
