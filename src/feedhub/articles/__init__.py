"""The newsroom's article files, read into stories.

parse.py reads a file line by line into an Article: section, headline,
paragraphs, sub-headings, and the metadata lines (metalines.py: bylines,
datelines, tags, pictures; dates.py reads their dates).  boilerplate.py says
which lines are site furniture (curated families and the folder's learned
house style).  to_item.py makes the Article an Item, the shape the store files.
"""
