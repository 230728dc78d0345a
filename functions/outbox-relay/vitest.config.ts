import { projectConfig } from "../../vitest.shared";

export default projectConfig("outbox-relay");
