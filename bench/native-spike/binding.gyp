{
  "targets": [
    {
      "target_name": "idle_ws",
      "sources": ["src/idle_ws.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra"]
    }
  ]
}
