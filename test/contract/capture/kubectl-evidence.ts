/**
 * The source behind the kubectl contract cases: where in kubectl (and the libraries it prints
 * through) each line, stream and exit code comes from. Read in bare mirrors of the repositories at
 * the tags named; kubectl 1.36.4 is staging tag v0.36.4, which is not mirrored, so v0.36.3 (the
 * closest) was read and the real 1.36.4 binary confirms the bytes.
 */
import type { Evidence } from '../../helpers/contract';

const KUBECTL = { repo: 'kubernetes/kubectl', ref: 'v0.36.3' };
const CLI_RUNTIME = { repo: 'kubernetes/cli-runtime', ref: 'v0.36.2' };
const APIMACHINERY = { repo: 'kubernetes/apimachinery', ref: 'v0.36.3' };
const APISERVER = { repo: 'kubernetes/apiserver', ref: 'v0.36.3' };
const CLIENT_GO = { repo: 'kubernetes/client-go', ref: 'v0.36.3' };

export const EV = {
  getList: {
    ...KUBECTL,
    file: 'pkg/cmd/get/get.go',
    symbol: 'GetOptions.printGeneric',
    says: 'a list request is coerced into {apiVersion: v1, items, kind: List, metadata: {resourceVersion}}; an error while listing is collected, the (empty) List is still printed to stdout, then the error is returned',
  },
  getSingle: {
    ...KUBECTL,
    file: 'pkg/cmd/get/get.go',
    symbol: 'GetOptions.printGeneric (singleItemImplied)',
    says: 'a single named object is printed as itself; when fetching it fails the error is returned before anything is printed',
  },
  jsonPrinter: {
    ...CLI_RUNTIME,
    file: 'pkg/printers/json.go',
    symbol: 'JSONPrinter.PrintObj',
    says: 'json.MarshalIndent(obj, "", "    ") of the unstructured object plus a newline: keys sorted (Go maps), four-space indent',
  },
  managedFields: { ...CLI_RUNTIME, file: 'pkg/printers/managedfields.go', symbol: 'omitManagedFields', says: 'metadata.managedFields is dropped before printing unless --show-managed-fields' },
  checkErr: {
    ...KUBECTL,
    file: 'pkg/cmd/util/helpers.go',
    symbol: 'checkErr / StandardErrorMessage / fatal',
    says: 'API errors print "Error from server (<Reason>): <message>", a 401 "error: You must be logged in to the server (<message>)", a refused dial "The connection to the server <host> was refused - did you specify the right host or port?"; fatal writes it to stderr and exits 1',
  },
  statusError: {
    ...APIMACHINERY,
    file: 'pkg/api/errors/errors.go',
    symbol: 'StatusError.Error / NewGenericServerResponse',
    says: 'the error text is the Status message only (causes are not printed); a 401 reads "the server has asked for the client to provide credentials"',
  },
  forbidden: {
    ...APISERVER,
    file: 'pkg/endpoints/handlers/responsewriters/errors.go',
    symbol: 'forbiddenMessage (with apimachinery NewForbidden)',
    says: '"<resource>[.<group>] [\\"<name>\\"] is forbidden: User \\"<user>\\" cannot <verb> resource \\"<resource>\\" in API group \\"<group>\\" at the cluster scope|in the namespace \\"<ns>\\""',
  },
  requestInfo: {
    ...APISERVER,
    file: 'pkg/endpoints/request/requestinfo.go',
    symbol: 'RequestInfoFactory.NewRequestInfo',
    says: 'for /api/v1/namespaces/NAME the namespace attribute is NAME itself, so a 403 on a Namespace says "in the namespace"',
  },
  internal: { ...APIMACHINERY, file: 'pkg/api/errors/errors.go', symbol: 'NewInternalError', says: 'reason InternalError, message "Internal error occurred: <cause>"' },
  klog136: {
    ...CLIENT_GO,
    file: 'discovery/cached/memory/memcache.go',
    symbol: 'memCacheClient.refreshLocked (line 265) with apimachinery pkg/util/runtime HandleError "Unhandled Error"',
    says: 'each failed discovery of the API group list logs a klog error line to stderr: E<mmdd hh:mm:ss.us> <pid> memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list: <err>"',
  },
  klog137: {
    repo: 'kubernetes/client-go',
    ref: 'v0.37.0-beta.0',
    file: 'discovery/cached/memory/memcache.go',
    symbol: 'HandleErrorWithContext(ctx, err, "Couldn\'t get current server API group list") (line 381)',
    says: 'kubectl 1.37 logs E<time> <pid> memcache.go:381] "Couldn\'t get current server API group list" err="<err>"',
  },
  version: {
    ...KUBECTL,
    file: 'pkg/cmd/version/version.go',
    symbol: 'Options.Run',
    says: 'json.MarshalIndent(versionInfo, "", "  ") printed with Fprintln, serverVersion only when the server answered; then the server error is returned (exit 1) after the client part was printed',
  },
  versionInfo: {
    ...APIMACHINERY,
    file: 'pkg/version/types.go',
    symbol: 'Info',
    says: 'field order major, minor, emulationMajor/Minor and minCompatibilityMajor/Minor (omitempty, servers from 1.33), gitVersion, gitCommit, gitTreeState, buildDate, goVersion, compiler, platform',
  },
  skew: {
    ...KUBECTL,
    file: 'pkg/cmd/version/skew_warning.go',
    symbol: 'getVersionSkewWarning',
    says: '"Warning: version difference between client (A.B) and server (C.D) exceeds the supported minor version skew of +/-1" to stderr; the exit code stays 0',
  },
  deletePrint: {
    ...KUBECTL,
    file: 'pkg/cmd/delete/delete.go',
    symbol: 'DeleteOptions.PrintObj',
    says: '"pod \\"<name>\\" force deleted from <ns> namespace" for --grace-period=0 (the "from <ns> namespace" suffix since kubectl v0.34)',
  },
  deleteWarning: {
    ...KUBECTL,
    file: 'pkg/cmd/delete/delete.go',
    symbol: 'DeleteOptions.Validate',
    says: '--grace-period=0 --force prints "Warning: Immediate deletion does not wait for confirmation ..." to stderr before deleting',
  },
  cordon: {
    ...KUBECTL,
    file: 'pkg/cmd/drain/drain.go',
    symbol: 'DrainCmdOptions.RunCordonOrUncordon',
    says: '"node/<name> cordoned|uncordoned|already cordoned|already uncordoned" (name printer); a failed PATCH prints "error: unable to cordon node \\"<name>\\": <err>" and the loop continues, so the command exits 0',
  },
  drainRun: {
    ...KUBECTL,
    file: 'pkg/cmd/drain/drain.go',
    symbol: 'DrainCmdOptions.RunDrain / deleteOrEvictPodsSimple',
    says: 'cordon first; "node/<name> drained" on success; otherwise "There are pending pods in node ..." with "pod/<name>" lines, "error: unable to drain node \\"<name>\\" due to error: <err>, continuing command...", "There are pending nodes to be drained:", " <name>", then the error again (exit 1); the node stays cordoned',
  },
  drainFinished: { ...KUBECTL, file: 'pkg/cmd/drain/drain.go', symbol: 'onPodDeletionOrEvictionFinished', says: '"pod/<name> evicted", or "pod/<name> deleted" with --disable-eviction' },
  evictPods: {
    ...KUBECTL,
    file: 'pkg/drain/drain.go',
    symbol: 'Helper.evictPods',
    says: 'one goroutine per pod: "evicting pod <ns>/<name>" on stdout before every attempt; a 429 prints "error when evicting pods/\\"<name>\\" -n \\"<ns>\\" (will retry after 5s): <message>" to stderr and sleeps 5s (EvictErrorRetryDelay); past --timeout the error is "global timeout reached: <timeout>"',
  },
  deletePods: {
    ...KUBECTL,
    file: 'pkg/drain/drain.go',
    symbol: 'Helper.DeleteOrEvictPods / deletePods',
    says: '--disable-eviction deletes each pod (no PodDisruptionBudget is consulted) and waits for them to go',
  },
  filters: {
    ...KUBECTL,
    file: 'pkg/drain/filters.go',
    symbol: 'daemonSetFilter / mirrorPodFilter / PodDeleteList.Warnings',
    says: 'DaemonSet pods are skipped with "ignoring DaemonSet-managed Pods: ns/a, ns/b" (printed as "Warning: ..." on stderr), mirror (static) pods silently; the local-storage warning is dropped by the filters after it',
  },
  eviction429: {
    repo: 'kubernetes/kubernetes',
    ref: '01aa0f3f6052c9866dcb69054d8924fa8c96e3cb',
    file: 'pkg/registry/core/pod/storage/eviction.go',
    symbol: 'EvictionREST.checkAndDecrement',
    says: '429 TooManyRequests "Cannot evict pod as it would violate the pod\'s disruption budget." with a DisruptionBudget cause "The disruption budget <name> needs <desired> healthy pods and has <current> currently" (kubectl prints only the message)',
  },
} satisfies Record<string, Evidence>;
