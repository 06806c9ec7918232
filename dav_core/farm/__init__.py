"""Farm scale on Ray: many shots and one long shot's interpolation windows spread over workers.

:mod:`.shots` names the shots of one call (no Ray); :mod:`.cluster` starts or joins Ray and places the
workers; :mod:`.worker` is the actor that holds the model once; :mod:`.driver` runs the shots through one
queue and writes every frame through :class:`dav_core.io.depth_outputs.DepthOutputs`, exactly as one
process would. Ray is imported only when workers are asked for.
"""
