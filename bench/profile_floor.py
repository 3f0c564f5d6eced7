#!/usr/bin/env python3
"""Where the kernel floor's time goes (bench/kernel_floor, the raw-netlink attach/detach):
perf cpu-clock of its adds, and the stacks where its deletes sleep (sched:sched_switch), with
LEVELS veths already on the bridge.

    tests/sandbox.sh /usr/bin/python3 bench/profile_floor.py 20,900 100 > bench/results/profile_floor.txt
"""
import json, os, statistics, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl
bl.assert_sandboxed()
levels = [int(x) for x in sys.argv[1].split(",")]
ops = int(sys.argv[2])
h = bl.Netns("fh")
with h.enter():
    bl.sh("ip","link","add","br-floor","type","bridge"); bl.sh("ip","addr","add","10.90.0.1/16","dev","br-floor"); bl.sh("ip","link","set","br-floor","up")
    bl.sh("nft","-f","-",input="table inet floor {\n map pub {\n  type inet_proto . inet_service : ipv4_addr . inet_service\n }\n}\n")
F = os.path.join(bl.BUILD, "bench", "kernel_floor")
def ip(i): n=i+2; return f"10.90.{n//256}.{n%256}"
def add(i):
    bl.add_netns(f"kf{i}")
    with h.enter(): return bl.timed([F,"add",f"/run/netns/kf{i}",f"kf{i}",str(1000+i),"br-floor",ip(i)+"/16","10.90.0.1",str(20000+i)])[0]
def dele(i):
    with h.enter(): r = bl.timed([F,"del",f"kf{i}",str(20000+i)])[0]
    bl.del_netns(f"kf{i}"); return r
have = 0
for L in levels:
    for i in range(have, L): add(5000+i)
    have = L
    data = f"/run/floor{L}.perf"
    p = subprocess.Popen(["perf","record","-q","-o",data,"-e","cpu-clock","-F","4000","-g","-a"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    time.sleep(1)
    a=[add(i) for i in range(ops)]
    p.send_signal(2); p.wait()
    # off-CPU: where does del sleep?
    data2 = f"/run/floor{L}.sched"
    p = subprocess.Popen(["perf","record","-q","-o",data2,"-e","sched:sched_switch","-g","-a"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    time.sleep(1)
    d=[dele(i) for i in range(ops)]
    p.send_signal(2); p.wait()
    print(f"== level {L}: add p50 {statistics.median(a):.2f} ms, del p50 {statistics.median(d):.2f} ms")
    out = subprocess.run(["perf","report","-i",data,"--comm","kernel_floor","--no-children","--sort","sym","--stdio","-q","-g","none","--percentage","relative"],capture_output=True,text=True).stdout
    print("\n".join(out.splitlines()[:25]))
    out = subprocess.run(["perf","report","-i",data,"--comm","kernel_floor","--children","--sort","sym","--stdio","-q","-g","none","--percentage","relative"],capture_output=True,text=True).stdout
    print("-- children (inclusive)"); print("\n".join(out.splitlines()[:45]))
    out = subprocess.run(["perf","script","-i",data2,"--comm","kernel_floor","-F","comm,event,ip,sym"],capture_output=True,text=True).stdout
    print("-- off-CPU stacks of del (sched_switch), first 3:"); print("\n".join(out.split("\n\n")[:3]))
