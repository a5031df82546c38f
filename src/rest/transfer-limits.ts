/**
 * The limits every REST route that moves file bytes obeys, set once by the server
 * (server.ts, from RestOptions) and handed to the route families that upload and
 * download (files-routes.ts, fs-routes.ts).
 */
export interface TransferLimits {
  /** Largest file any upload may store (413 beyond). */
  maxUploadBytes: number;
  /**
   * Longest an upload or download waits for room in the controller's REST memory
   * before it starts; then it is answered 503 with Retry-After (room-wait.ts).
   */
  roomWaitMs: number;
}
