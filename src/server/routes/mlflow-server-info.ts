import type { RoutePlugin } from "../app-deps.js";
import { mlflowRoute } from "./mlflow-common.js";

/**
 * MLflow 3's capability probe (`GET /api/3.0/mlflow/server-info`): clients read which store backs
 * the server and which optional features it has before they use them. keel's metadata store is
 * SQL on both backends; workspaces, trace archival and multipart artifact transfer are not offered.
 */
export const mlflowServerInfoRoutes: RoutePlugin = (app) => {
  mlflowRoute(
    app,
    "GET",
    "/server-info",
    () =>
      Promise.resolve({
        store_type: "SqlStore",
        workspaces_enabled: false,
        trace_archival_enabled: false,
        multipart_uploads_enabled: false,
        multipart_downloads_enabled: false,
      }),
    { role: "reader", prefixes: ["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"] },
  );
};
