package zeebecelery.tests;

import io.camunda.client.CamundaClient;
import io.camunda.client.api.JsonMapper;
import io.camunda.client.api.response.ActivatedJob;
import io.camunda.client.api.response.BrokerInfo;
import io.camunda.client.api.response.DeploymentEvent;
import io.camunda.client.api.response.PartitionInfo;
import io.camunda.client.api.response.Process;
import io.camunda.client.api.response.ProcessInstanceResult;
import io.camunda.client.api.response.Topology;
import io.camunda.client.api.response.UserTaskProperties;
import io.camunda.client.api.worker.JobClient;
import io.camunda.client.api.worker.JobWorker;
import io.camunda.client.api.worker.JobWorkerBuilderStep1.JobWorkerBuilderStep3;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Drives a Zeebe gateway with the official Java client, over gRPC only, and prints what it saw as JSON lines.
 *
 * <pre>java zeebecelery.tests.Main ADDRESS BPMN JOB_TYPE poll|stream|deny INSTANCES</pre>
 *
 * <p>It reads the topology, deploys the BPMN file, opens a job worker on JOB_TYPE (polling, or with a job
 * stream and no second poll) whose handler completes each job with {@code doubled = 2 * x}, then creates
 * INSTANCES instances of the deployed process with a result, with {@code x} = 1, 2, ... Every step prints one
 * line: {@code topology}, {@code deployed}, {@code completed-job} (printed from the worker's thread once the
 * engine accepted the completion) and {@code result}. Any failure prints the client's exception to stderr and exits 1.
 *
 * <p>With {@code deny}, BPMN holds a native user task whose assigning task listener has the type JOB_TYPE: the
 * worker denies each assignment (a {@code JobResult} of a user task), printing {@code denied-job} with the job's
 * kind, listener event type and user task; INSTANCES instances are created with {@code owner} = ann-1, ann-2...
 * (printing {@code created}).
 */
public final class Main {

  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  /** A permit for each completion the engine accepted: the instance's result can arrive before it does. */
  private static final Semaphore COMPLETED = new Semaphore(0);

  private Main() {}

  public static void main(final String[] args) {
    if (args.length != 5 || !List.of("poll", "stream", "deny").contains(args[3])) {
      System.err.println("usage: Main ADDRESS BPMN JOB_TYPE poll|stream|deny INSTANCES");
      System.exit(2);
    }
    try {
      if (args[3].equals("deny")) {
        deny(args[0], Path.of(args[1]), args[2], Integer.parseInt(args[4]));
      } else {
        run(args[0], Path.of(args[1]), args[2], args[3].equals("stream"), Integer.parseInt(args[4]));
      }
    } catch (final Exception e) {
      e.printStackTrace(System.err);
      System.exit(1);
    }
    System.exit(0);
  }

  /** A client on gRPC only. */
  private static CamundaClient client(final String address) {
    // An http:// gRPC address is the client's way of saying plaintext. The REST address points at a port
    // nothing serves, so that any call that went over REST instead of gRPC fails loudly.
    return CamundaClient.newClientBuilder()
        .grpcAddress(URI.create("http://" + address))
        .restAddress(URI.create("http://127.0.0.1:9"))
        .preferRestOverGrpc(false)
        .defaultRequestTimeout(REQUEST_TIMEOUT)
        .build();
  }

  private static void deny(final String address, final Path bpmn, final String jobType, final int instances)
      throws Exception {
    try (CamundaClient client = client(address)) {
      final JsonMapper json = client.getConfiguration().getJsonMapper();
      print(json, line("event", "topology", "gatewayVersion", client.newTopologyRequest().send().join().getGatewayVersion()));
      final DeploymentEvent deployment =
          client.newDeployResourceCommand().addResourceFile(bpmn.toString()).send().join();
      final Process process = deployment.getProcesses().get(0);
      try (JobWorker worker =
          client
              .newWorker()
              .jobType(jobType)
              .handler(
                  (jobClient, job) -> {
                    jobClient
                        .newCompleteCommand(job)
                        .withResult(r -> r.forUserTask().deny(true, "denied by java-client"))
                        .send()
                        .join();
                    final UserTaskProperties task = job.getUserTask();
                    print(
                        json,
                        line(
                            "event", "denied-job",
                            "key", job.getKey(),
                            "kind", String.valueOf(job.getKind()),
                            "listenerEventType", String.valueOf(job.getListenerEventType()),
                            "processInstanceKey", job.getProcessInstanceKey(),
                            "assignee", task.getAssignee(),
                            "candidateGroups", task.getCandidateGroups(),
                            "changedAttributes", task.getChangedAttributes(),
                            "priority", task.getPriority(),
                            "dueDate", String.valueOf(task.getDueDate()),
                            "userTaskKey", task.getUserTaskKey(),
                            "tags", new ArrayList<>(job.getTags())));
                    COMPLETED.release();
                  })
              .name("java-client")
              .timeout(REQUEST_TIMEOUT)
              .open()) {
        for (int x = 1; x <= instances; x++) {
          final long key =
              client
                  .newCreateInstanceCommand()
                  .bpmnProcessId(process.getBpmnProcessId())
                  .latestVersion()
                  .variables(Map.of("owner", "ann-" + x))
                  .tags("from-java")
                  .send()
                  .join()
                  .getProcessInstanceKey();
          print(json, line("event", "created", "processInstanceKey", key));
        }
        if (!COMPLETED.tryAcquire(instances, REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("the worker's denials were not all answered");
        }
      }
    }
  }

  private static void run(
      final String address, final Path bpmn, final String jobType, final boolean stream, final int instances)
      throws Exception {
    try (CamundaClient client = client(address)) {
      final JsonMapper json = client.getConfiguration().getJsonMapper();

      final Topology topology = client.newTopologyRequest().send().join();
      final List<Map<String, Object>> partitions = new ArrayList<>();
      for (final BrokerInfo broker : topology.getBrokers()) {
        for (final PartitionInfo partition : broker.getPartitions()) {
          partitions.add(
              line(
                  "partitionId", partition.getPartitionId(),
                  "role", partition.getRole().name(),
                  "health", partition.getHealth().name()));
        }
      }
      print(
          json,
          line(
              "event", "topology",
              "gatewayVersion", topology.getGatewayVersion(),
              "clusterSize", topology.getClusterSize(),
              "partitions", partitions));

      final DeploymentEvent deployment =
          client.newDeployResourceCommand().addResourceFile(bpmn.toString()).send().join();
      if (deployment.getProcesses().size() != 1) {
        throw new IllegalStateException("expected one deployed process, got " + deployment.getProcesses());
      }
      final Process process = deployment.getProcesses().get(0);
      print(
          json,
          line(
              "event", "deployed",
              "deploymentKey", deployment.getKey(),
              "bpmnProcessId", process.getBpmnProcessId(),
              "version", process.getVersion(),
              "processDefinitionKey", process.getProcessDefinitionKey(),
              "resourceName", process.getResourceName(),
              "tenantId", process.getTenantId()));

      JobWorkerBuilderStep3 builder =
          client
              .newWorker()
              .jobType(jobType)
              .handler((jobClient, job) -> complete(json, jobClient, job))
              .name("java-client")
              .timeout(REQUEST_TIMEOUT);
      if (stream) {
        // The worker polls once when it opens, before any instance exists; an hour until the next poll
        // leaves the job stream as the only way a job can reach this worker.
        builder =
            builder.streamEnabled(true).pollInterval(Duration.ofHours(1)).requestTimeout(Duration.ofMillis(100));
      }
      try (JobWorker worker = builder.open()) {
        for (int x = 1; x <= instances; x++) {
          final ProcessInstanceResult result =
              client
                  .newCreateInstanceCommand()
                  .bpmnProcessId(process.getBpmnProcessId())
                  .latestVersion()
                  .variables(Map.of("x", x))
                  .withResult()
                  .requestTimeout(REQUEST_TIMEOUT)
                  .send()
                  .join();
          print(
              json,
              line(
                  "event", "result",
                  "processInstanceKey", result.getProcessInstanceKey(),
                  "bpmnProcessId", result.getBpmnProcessId(),
                  "version", result.getVersion(),
                  "processDefinitionKey", result.getProcessDefinitionKey(),
                  "variables", result.getVariablesAsMap()));
        }
        if (!COMPLETED.tryAcquire(instances, REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("the worker's completions were not all answered");
        }
      }
    }
  }

  private static void complete(final JsonMapper json, final JobClient jobClient, final ActivatedJob job) {
    final Number x = (Number) job.getVariablesAsMap().get("x");
    final Map<String, Object> variables = line("doubled", 2 * x.longValue(), "handledBy", "java-client");
    jobClient.newCompleteCommand(job).variables(variables).send().join();
    print(
        json,
        line(
            "event", "completed-job",
            "key", job.getKey(),
            "type", job.getType(),
            "worker", job.getWorker(),
            "retries", job.getRetries(),
            "processInstanceKey", job.getProcessInstanceKey(),
            "elementId", job.getElementId(),
            "customHeaders", job.getCustomHeaders(),
            "variables", job.getVariablesAsMap()));
    COMPLETED.release();
  }

  /** An insertion-ordered map from alternating keys and values. */
  private static Map<String, Object> line(final Object... keysAndValues) {
    final Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }

  private static synchronized void print(final JsonMapper json, final Map<String, Object> line) {
    System.out.println(json.toJson(line));
    System.out.flush();
  }
}
