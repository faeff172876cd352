"""Word2Vec Lab: the Streamlit entry point. Run with `streamlit run app.py`.

Pages live in pages/; this file only sets up navigation and the shared run store.
"""
import streamlit as st

st.set_page_config(page_title="Word2Vec Lab", page_icon="🧭", layout="wide")

nav = st.navigation([st.Page("pages/home.py", title="Runs", icon="🏠", default=True)])
nav.run()
