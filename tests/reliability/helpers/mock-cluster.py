#!/usr/bin/env python3
"""librdkafka's mock Kafka cluster, driven over stdin so a test can take brokers down and up.

kcat exposes the mock cluster (test.mock.num.brokers) but none of its fault controls. This loads the same
librdkafka through ctypes and calls its public mock API (rdkafka_mock.h): rd_kafka_mock_broker_set_down
closes the broker's connections and refuses new ones; set_up lets clients back in. The cluster keeps its
topics, records and committed offsets in memory throughout, as a restarted Kafka broker keeps them on disk.

stdout: "ready <bootstrap servers>" once up, then "ok <command>" after each command.
stdin:  "down <broker id>", "up <broker id>", "topic <name> <partitions>", "fail <api key> <error code> <count>"
        (the next <count> requests of that API, from any client, are answered with that error:
        rd_kafka_mock_push_request_errors_array); EOF destroys the cluster.
"""
import ctypes
import ctypes.util
import sys

lib = ctypes.CDLL(ctypes.util.find_library("rdkafka") or "librdkafka.so.1")
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_broker_set_down.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.rd_kafka_mock_broker_set_up.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
lib.rd_kafka_mock_push_request_errors_array.argtypes = [ctypes.c_void_p, ctypes.c_int16, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)]
lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]

brokers = int(sys.argv[1]) if len(sys.argv) > 1 else 1
errstr = ctypes.create_string_buffer(512)
conf = lib.rd_kafka_conf_new()
if len(sys.argv) > 2 and sys.argv[2] == "debug":
    # The mock's own view of groups, connections and requests, on stderr (see mock-cluster.ts).
    lib.rd_kafka_conf_set(conf, b"debug", b"mock", errstr, len(errstr))
rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))  # RD_KAFKA_PRODUCER; only hosts the mock cluster
if not rk:
    sys.exit("rd_kafka_new failed: " + errstr.value.decode())
mock = lib.rd_kafka_mock_cluster_new(rk, brokers)
if not mock:
    sys.exit("rd_kafka_mock_cluster_new failed")
print("ready " + lib.rd_kafka_mock_cluster_bootstraps(mock).decode(), flush=True)

for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    cmd = parts[0]
    if cmd == "down":
        err = lib.rd_kafka_mock_broker_set_down(mock, int(parts[1]))
    elif cmd == "up":
        err = lib.rd_kafka_mock_broker_set_up(mock, int(parts[1]))
    elif cmd == "topic":
        err = lib.rd_kafka_mock_topic_create(mock, parts[1].encode(), int(parts[2]), 1)
    elif cmd == "fail":
        count = int(parts[3])
        errors = (ctypes.c_int * count)(*([int(parts[2])] * count))
        lib.rd_kafka_mock_push_request_errors_array(mock, int(parts[1]), count, errors)
        err = 0
    else:
        err = -1
    print(("ok " if err == 0 else "error %d " % err) + line.strip(), flush=True)

lib.rd_kafka_mock_cluster_destroy(mock)
lib.rd_kafka_destroy(rk)
