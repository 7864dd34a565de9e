package zeebecelery.tests;

import io.camunda.client.CamundaClient;
import io.camunda.client.api.JsonMapper;
import io.camunda.client.api.response.ActivatedJob;
import io.camunda.client.api.response.ProcessInstanceResult;
import io.camunda.client.api.worker.JobWorker;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the combined model of tests/bpmn/call_parent.bpmn and call_child.bpmn with the official Java client,
 * over gRPC only: a sequential multi-instance call activity whose child has a process start listener and an
 * interrupting message event sub-process.
 *
 * <pre>java zeebecelery.tests.CombinedModel ADDRESS CHILD_BPMN PARENT_BPMN PARENT_ID LISTENER_TYPE SHIP_TYPE</pre>
 *
 * <p>It deploys both files in one deployment, opens a worker for the child's execution listener jobs (each
 * printed as a {@code listener-job} line with its kind and event type) and one for its shipping jobs (completed
 * with {@code tracking = "T-" + orderId}), creates an instance for the items A and B with a result, and prints
 * it as a {@code result} line. Any failure prints the client's exception to stderr and exits 1.
 */
public final class CombinedModel {

  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private CombinedModel() {}

  public static void main(final String[] args) {
    if (args.length != 6) {
      System.err.println("usage: CombinedModel ADDRESS CHILD_BPMN PARENT_BPMN PARENT_ID LISTENER_TYPE SHIP_TYPE");
      System.exit(2);
    }
    try (CamundaClient client =
        CamundaClient.newClientBuilder()
            .grpcAddress(URI.create("http://" + args[0]))
            .restAddress(URI.create("http://127.0.0.1:9"))
            .preferRestOverGrpc(false)
            .defaultRequestTimeout(REQUEST_TIMEOUT)
            .build()) {
      final JsonMapper json = client.getConfiguration().getJsonMapper();
      client.newDeployResourceCommand().addResourceFile(args[1]).addResourceFile(args[2]).send().join();
      try (JobWorker listener =
              client
                  .newWorker()
                  .jobType(args[4])
                  .handler(
                      (jobClient, job) -> {
                        print(json, "listener-job", job);
                        jobClient.newCompleteCommand(job).send().join();
                      })
                  .name("java-client")
                  .open();
          JobWorker shipper =
              client
                  .newWorker()
                  .jobType(args[5])
                  .handler(
                      (jobClient, job) ->
                          jobClient
                              .newCompleteCommand(job)
                              .variables(Map.of("tracking", "T-" + job.getVariablesAsMap().get("orderId")))
                              .send()
                              .join())
                  .name("java-client")
                  .open()) {
        final ProcessInstanceResult result =
            client
                .newCreateInstanceCommand()
                .bpmnProcessId(args[3])
                .latestVersion()
                .variables(Map.of("items", List.of("A", "B")))
                .withResult()
                .requestTimeout(Duration.ofSeconds(60))
                .send()
                .join();
        final Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", "result");
        line.put("variables", result.getVariablesAsMap());
        synchronized (CombinedModel.class) {
          System.out.println(json.toJson(line));
          System.out.flush();
        }
      }
    } catch (final Exception e) {
      e.printStackTrace(System.err);
      System.exit(1);
    }
    System.exit(0);
  }

  private static synchronized void print(final JsonMapper json, final String event, final ActivatedJob job) {
    final Map<String, Object> line = new LinkedHashMap<>();
    line.put("event", event);
    line.put("kind", job.getKind().name());
    line.put("listenerEventType", job.getListenerEventType().name());
    line.put("orderId", job.getVariablesAsMap().get("orderId"));
    System.out.println(json.toJson(line));
    System.out.flush();
  }
}
