"""A container runtime's side of CNI, as libcni does it: run one plugin with the CNI_*
environment and its configuration on stdin, or run a configuration list (conflist) in order
with prevResult passed along, capabilities turned into runtimeConfig, and DEL in reverse.

Used by the integration tests and by bench/cni_bench.py. It only runs plugins; anything it is
given must already be inside a sandbox (tests/sandbox.sh).
"""

import json
import os
import subprocess
import time

REFERENCE_PLUGIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins


class CniError(Exception):
    """A plugin answered with an error document (or garbage)."""

    def __init__(self, plugin, command, rc, doc, stdout, stderr):
        self.plugin, self.command, self.rc, self.doc = plugin, command, rc, doc
        self.code = doc.get("code") if isinstance(doc, dict) else None
        super().__init__(f"{plugin} {command} exited {rc}: {stdout.strip()} {stderr.strip()}")


class Runtime:
    def __init__(self, plugin_dirs, extra_env=None):
        self.plugin_dirs = list(plugin_dirs)
        self.extra_env = dict(extra_env or {})

    def find(self, plugin_type):
        for d in self.plugin_dirs:
            p = os.path.join(d, plugin_type)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
        raise FileNotFoundError(f"no CNI plugin {plugin_type!r} in {self.plugin_dirs}")

    def env(self, command, container_id="", netns="", ifname="", args=""):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        env.update(self.extra_env)
        env["CNI_COMMAND"] = command
        env["CNI_PATH"] = ":".join(self.plugin_dirs)
        for key, value in (("CNI_CONTAINERID", container_id), ("CNI_NETNS", netns),
                           ("CNI_IFNAME", ifname), ("CNI_ARGS", args)):
            if value:
                env[key] = value
        return env

    def exec(self, plugin_type, command, conf, container_id="", netns="", ifname="", args="",
             stdin=None, env=None, timeout=60):
        """Runs one plugin. Returns (rc, parsed stdout or None, stdout, stderr)."""
        data = stdin if stdin is not None else (json.dumps(conf) if conf is not None else "")
        p = subprocess.run([self.find(plugin_type)], input=data, capture_output=True,
                           text=True, timeout=timeout,
                           env=env or self.env(command, container_id, netns, ifname, args))
        try:
            doc = json.loads(p.stdout) if p.stdout.strip() else None
        except ValueError:
            doc = None
        return p.returncode, doc, p.stdout, p.stderr

    def invoke(self, plugin_type, command, conf, **kw):
        """Like exec, but raises CniError unless the plugin succeeded; returns the document."""
        rc, doc, out, err = self.exec(plugin_type, command, conf, **kw)
        if rc != 0:
            raise CniError(plugin_type, command, rc, doc, out, err)
        return doc

    # Configuration lists, libcni style.

    @staticmethod
    def plugin_conf(conflist, plugin, capability_args=None, prev_result=None):
        conf = json.loads(json.dumps(plugin))
        conf["name"] = conflist["name"]
        conf["cniVersion"] = conflist["cniVersion"]
        runtime_config = {k: v for k, v in (capability_args or {}).items()
                          if plugin.get("capabilities", {}).get(k)}
        if runtime_config:
            conf["runtimeConfig"] = runtime_config
        if prev_result is not None:
            conf["prevResult"] = prev_result
        return conf

    def add_list(self, conflist, container_id, netns, ifname="eth0", capability_args=None,
                 args="", timings=None):
        prev = None
        for plugin in conflist["plugins"]:
            conf = self.plugin_conf(conflist, plugin, capability_args, prev)
            t0 = time.perf_counter_ns()
            prev = self.invoke(plugin["type"], "ADD", conf, container_id=container_id,
                               netns=netns, ifname=ifname, args=args)
            if timings is not None:
                timings.setdefault(plugin["type"], []).append(time.perf_counter_ns() - t0)
        return prev

    def check_list(self, conflist, container_id, netns, result, ifname="eth0",
                   capability_args=None, args=""):
        for plugin in conflist["plugins"]:
            conf = self.plugin_conf(conflist, plugin, capability_args, result)
            self.invoke(plugin["type"], "CHECK", conf, container_id=container_id, netns=netns,
                        ifname=ifname, args=args)

    def del_list(self, conflist, container_id, netns, result=None, ifname="eth0",
                 capability_args=None, args="", timings=None):
        for plugin in reversed(conflist["plugins"]):
            conf = self.plugin_conf(conflist, plugin, capability_args, result)
            t0 = time.perf_counter_ns()
            self.invoke(plugin["type"], "DEL", conf, container_id=container_id, netns=netns,
                        ifname=ifname, args=args)
            if timings is not None:
                timings.setdefault(plugin["type"], []).append(time.perf_counter_ns() - t0)
