"""Pictures of the board: headless SVG rendering, the files they go to, the README's pictures."""
