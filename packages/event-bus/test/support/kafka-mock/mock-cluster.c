/*
 * A throwaway Kafka cluster for tests: librdkafka's mock cluster (in-memory brokers that speak the
 * Kafka protocol on loopback). Prints the bootstrap servers as its first stdout line, then obeys
 * stdin, one command a line:
 *   down                     every broker drops its connections and refuses new ones (log kept)
 *   up                       brokers accept connections again
 *   topic <name> <parts>     creates a topic (the mock has no CreateTopics API)
 * and exits on EOF, so a test process that dies takes its cluster with it.
 * Usage: mock-cluster [broker-count]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  char errstr[512], line[512], name[256];
  int partitions;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the cluster; keep its own chatter (no bootstrap servers) quiet. */
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) { fprintf(stderr, "rd_kafka_new: %s\n", errstr); return 1; }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
  if (!cluster) { fprintf(stderr, "rd_kafka_mock_cluster_new failed\n"); return 1; }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);
  while (fgets(line, sizeof(line), stdin)) {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (strncmp(line, "down", 4) == 0) err = rd_kafka_mock_broker_set_down(cluster, -1);
    else if (strncmp(line, "up", 2) == 0) err = rd_kafka_mock_broker_set_up(cluster, -1);
    else if (sscanf(line, "topic %255s %d", name, &partitions) == 2)
      err = rd_kafka_mock_topic_create(cluster, name, partitions, 1);
    else { printf("error unknown command\n"); fflush(stdout); continue; }
    /* One answer per command, so the caller knows the change is in effect before it goes on. */
    if (err) printf("error %s\n", rd_kafka_err2str(err)); else printf("ok\n");
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
