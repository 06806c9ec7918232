"""Input readers (``video``: video files, image folders, images), depth writers (``writers``) and preview
colours (``colormaps``). Import the submodules; this package imports nothing, so light modules stay light."""
